#!/usr/bin/env node
// Entry point of the `tmsg` command. Plain JavaScript that any Node can parse, so an old Node
// gets a clear message instead of a syntax error.
const [major, minor] = process.versions.node.split('.').map(Number)
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(`tmsg needs Node.js >= 22.18 (this is ${process.version}).\n` +
    'From a checkout, run it through npm, which uses the Node 22 installed with it: npm start, npm run tmsg -- <command>\n')
  process.exit(1)
}
// glibc serves buffers under its mmap threshold from its heap, and raises that threshold (up
// to 32 MiB) each time a larger one is freed. A relay's heap then fills with the encrypted copies
// of its units (one per neighbour, tens of KiB each, freed by the next GC), and the holes they
// leave between longer-lived allocations stay resident: 21 MB of the 43 MB glibc heap of the
// memory benchmark's relay was free at its peak (malloc_info). A fixed threshold of 32 KiB
// gives every such buffer an mmap of its own, returned to the kernel when it is freed: peak
// 157-160 against 161-177 MB, the rest of the anonymous memory 18-24 against 29-51 MB (README,
// Memory). glibc reads its tunables only at start, so the process replaces itself once (same
// pid, same arguments) with them set.
// A GLIBC_TUNABLES that already sets the threshold is left alone; other libcs ignore it.
// TMSG_REEXECUTED marks the second start, so a libc that drops the variable cannot loop us.
// Only commands that run a node (`node`, and `chat`, the default; src/cli/main.ts) pay the
// second start (~50 ms): an RPC client such as `tmsg send` exits long before memory matters.
const command = process.argv[2]
const runsNode = command === undefined || command.startsWith('-') || command === 'node' || command === 'chat'
if (process.env.TMSG_REEXECUTED !== undefined) {
  delete process.env.TMSG_REEXECUTED
} else if (runsNode && process.platform === 'linux' && typeof process.execve === 'function' &&
    !(process.env.GLIBC_TUNABLES ?? '').includes('glibc.malloc.mmap_threshold=')) {
  const tunables = [process.env.GLIBC_TUNABLES, 'glibc.malloc.mmap_threshold=32768'].filter(Boolean).join(':')
  try {
    process.execve(process.execPath, [process.execPath, ...process.execArgv, ...process.argv.slice(1)], { ...process.env, GLIBC_TUNABLES: tunables, TMSG_REEXECUTED: '1' })
  } catch {
    // (a sandbox that forbids execve, say) glibc's defaults cost memory, not correctness: run on.
  }
}
// V8 grows the young generation to 2 × 16 MiB while the libraries load and keeps it: 30 MB of
// a node's RSS, idle or busy. Kept at its initial 1 MiB semi-spaces (as --max-semi-space-size=1
// would; the flag itself is read only at start-up, the growth factor at every scavenge), the
// relay of the memory benchmark peaked 33-36 MB lower (README, Memory): what a relay allocates
// per unit dies within the unit, and what lives longer (queues, the seen cache) is old anyway.
const v8 = await import('node:v8')
v8.setFlagsFromString('--semi-space-growth-factor=1')
// Buffers that outlive two scavenges (a copy encrypted for a neighbour that reads slowly, waiting
// in its socket queue) are freed only by a full GC. V8 starts one when the old generation has
// grown by its growing factor (up to 4x the live heap for a small heap) or external memory by
// 64 MB, and until then the relay of the memory benchmark held 60-90 MB of such dead buffers,
// a high-water mark glibc then kept. Growing by 10% instead (read at every GC, like the factor
// above), full GCs come every few MB promoted: peak 165-178 against 219-251 MB in the same hours.
// The price is CPU: 4-5 times as many full GCs (each marks the ~40 MB live heap, mostly on a
// helper thread), 0.79 against 0.61 of a core at ~9,800 msg/s in one pair of runs (README, Memory).
v8.setFlagsFromString('--heap-growing-percent=10')
// V8 flushes the bytecode of functions that have not run for a while, but by default never
// their Sparkplug (baseline) code, so every function that once got warm keeps it: start-up
// paths, the RPC and layer-2 code a relay touched once. Flushed like bytecode, the relay of the
// memory benchmark held a V8 heap of 38-39 instead of 42 MB at its peak (README, Memory).
v8.setFlagsFromString('--flush-baseline-code')
// An installed package runs the JavaScript compiled at pack time (Node will not strip types
// under node_modules); a checkout runs the sources.
const { existsSync } = await import('node:fs')
const compiled = new URL('../dist/src/cli/main.js', import.meta.url)
const { main } = await import(existsSync(compiled) ? compiled.href : '../src/cli/main.ts')
// Exit explicitly: libp2p may leave timers behind after a clean stop.
process.exit(await main(process.argv.slice(2)))
