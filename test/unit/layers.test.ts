/**
 * The house rules on imports, checked on the source: data flows wire → flood → node →
 * applications → rpc/tui, so no module imports one above it, no application reaches into the
 * libp2p host, and no import circle exists (type-only imports included: a circle of types
 * is still one module that cannot be read without the other).
 */
import { describe, expect, it } from 'vitest'
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

function sources (dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter(e => e.isFile() && e.name.endsWith('.ts'))
    .map(e => relative(ROOT, join(e.parentPath, e.name)))
}

const files = [...sources('src'), ...sources('tui')]
const text = new Map(files.map(f => [f, readFileSync(join(ROOT, f), 'utf8')]))

/** Relative imports of a file (static, dynamic and type-only), as repository paths. */
function importsOf (file: string): string[] {
  const out: string[] = []
  for (const m of text.get(file)!.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|^import\s+)'(\.{1,2}\/[^']+)'/gm)) {
    out.push(relative(ROOT, resolve(ROOT, dirname(file), m[1]!)))
  }
  return out
}

const graph = new Map(files.map(f => [f, importsOf(f)]))

/** Modules of each layer may not import these (path prefixes). */
const FORBIDDEN: Array<[string[], string[]]> = [
  [['src/wire/', 'src/flood/', 'src/node/', 'src/store/'], ['src/chat/', 'src/layer2/', 'src/app.ts', 'src/rpc/', 'src/cli/', 'tui/']],
  [['src/chat/', 'src/layer2/'], ['src/app.ts', 'src/rpc/', 'src/cli/', 'tui/']],
  [['src/chat/'], ['src/layer2/']],
  [['src/app.ts'], ['src/rpc/', 'src/cli/', 'tui/']],
  [['src/rpc/'], ['src/cli/', 'tui/']]
]

describe('layers', () => {
  it('finds the sources and their imports', () => {
    expect(files).toContain('src/layer2/layer2.ts')
    expect(graph.get('src/app.ts')).toContain('src/layer2/layer2.ts')
  })

  it('no module imports a layer above it', () => {
    const wrong: string[] = []
    for (const [from, to] of graph) {
      for (const [layers, above] of FORBIDDEN) {
        if (!layers.some(l => from.startsWith(l))) continue
        for (const t of to) if (above.some(a => t.startsWith(a))) wrong.push(`${from} → ${t}`)
      }
    }
    expect(wrong).toEqual([])
  })

  it('no application, front end or the app touches the libp2p host', () => {
    const touching = files.filter(f => /^(src\/(chat|layer2|rpc|cli)\/|src\/app\.ts|tui\/)/.test(f) && /\bnode\??\.libp2p\b/.test(text.get(f)!))
    expect(touching).toEqual([])
  })

  it('has no import circle', () => {
    const circles: string[] = []
    const state = new Map<string, 'open' | 'done'>()
    const path: string[] = []
    const visit = (f: string): void => {
      state.set(f, 'open')
      path.push(f)
      for (const t of graph.get(f) ?? []) {
        if (!graph.has(t)) continue
        if (state.get(t) === 'open') circles.push([...path.slice(path.indexOf(t)), t].join(' → '))
        else if (state.get(t) === undefined) visit(t)
      }
      path.pop()
      state.set(f, 'done')
    }
    for (const f of files) if (state.get(f) === undefined) visit(f)
    expect(circles).toEqual([])
  })
})
