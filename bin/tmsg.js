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
// An installed package runs the JavaScript compiled at pack time (Node will not strip types
// under node_modules); a checkout runs the sources.
const { existsSync } = await import('node:fs')
const compiled = new URL('../dist/src/cli/main.js', import.meta.url)
const { main } = await import(existsSync(compiled) ? compiled.href : '../src/cli/main.ts')
// Exit explicitly: libp2p may leave timers behind after a clean stop.
process.exit(await main(process.argv.slice(2)))
