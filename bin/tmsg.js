#!/usr/bin/env node
// Entry point of the `tmsg` command. Plain JavaScript that any Node can parse, so an old Node
// gets a clear message instead of a syntax error.
const [major, minor] = process.versions.node.split('.').map(Number)
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(`tmsg needs Node.js >= 22.18 (this is ${process.version}).\n` +
    'From a checkout, run it through npm, which uses the Node 22 installed with it: npm start, npm run tmsg -- <command>\n')
  process.exit(1)
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
// An installed package runs the JavaScript compiled at pack time (Node will not strip types
// under node_modules); a checkout runs the sources.
const { existsSync } = await import('node:fs')
const compiled = new URL('../dist/src/cli/main.js', import.meta.url)
const { main } = await import(existsSync(compiled) ? compiled.href : '../src/cli/main.ts')
// Exit explicitly: libp2p may leave timers behind after a clean stop.
process.exit(await main(process.argv.slice(2)))
