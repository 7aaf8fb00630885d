#!/usr/bin/env node
// Entry point of the `tmsg` command. Plain JavaScript that any Node can parse, so an old Node
// gets a clear message instead of a syntax error.
const [major, minor] = process.versions.node.split('.').map(Number)
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(`tmsg needs Node.js >= 22.18 (this is ${process.version}).\n` +
    'From a checkout, run it through npm, which uses the Node 22 installed with it: npm start, npm run tmsg -- <command>\n')
  process.exit(1)
}
// An installed package runs the JavaScript compiled at pack time (Node will not strip types
// under node_modules); a checkout runs the sources.
const { existsSync } = await import('node:fs')
const compiled = new URL('../dist/src/cli/main.js', import.meta.url)
const { main } = await import(existsSync(compiled) ? compiled.href : '../src/cli/main.ts')
// Exit explicitly: libp2p may leave timers behind after a clean stop.
process.exit(await main(process.argv.slice(2)))
