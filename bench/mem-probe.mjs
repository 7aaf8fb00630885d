// Preloaded into the relay of the memory benchmark (`node --import`), only when
// BENCH_MEM_PROBE names a file: appends process.memoryUsage() and the RSS split from
// /proc/self/status as one JSON line every 250 ms, so the bench can say which part of the
// peak is V8 heap, buffers, other native memory (glibc) or the binary's pages.
import { appendFileSync, readFileSync } from 'node:fs'

const file = process.env.BENCH_MEM_PROBE
if (file !== undefined && file !== '') {
  const kB = (status, key) => Number(status.match(new RegExp(`^${key}:\\s+(\\d+)`, 'm'))?.[1] ?? NaN)
  setInterval(() => {
    const m = process.memoryUsage()
    const s = readFileSync('/proc/self/status', 'utf8')
    appendFileSync(file, JSON.stringify({ t: Date.now(), rss: m.rss, heapTotal: m.heapTotal, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, anon: kB(s, 'RssAnon') * 1024, file: kB(s, 'RssFile') * 1024 }) + '\n')
  }, 250).unref()
}
