/**
 * `rpc.discover`: the OpenRPC document, and the README's method table, both generated from
 * the method table.
 */
import { z } from 'zod'
import type { MethodDef } from './methods.ts'
import { ERROR_CODES } from './errors.ts'
import { version } from '../version.ts'

type JsonSchema = Record<string, unknown>

/** JSON Schema of a zod type, with `$defs` hoisted into `defs` and refs pointed at components. */
function schemaOf (t: z.ZodType, defs: Record<string, unknown>, io: 'input' | 'output'): JsonSchema {
  const s = z.toJSONSchema(t, { io, unrepresentable: 'any' }) as JsonSchema
  const { $schema: _s, $defs, ...rest } = s
  Object.assign(defs, $defs as Record<string, unknown> | undefined)
  return JSON.parse(JSON.stringify(rest).replaceAll('#/$defs/', '#/components/schemas/')) as JsonSchema
}

export function openRpcDocument (methods: readonly MethodDef[]): Record<string, unknown> {
  const defs: Record<string, unknown> = {}
  const docs = methods.map(m => {
    const params = schemaOf(m.params, defs, 'input') as { properties?: Record<string, JsonSchema>, required?: string[] }
    return {
      name: m.name,
      summary: m.summary,
      paramStructure: 'by-name',
      params: Object.entries(params.properties ?? {}).map(([name, schema]) => ({ name, required: params.required?.includes(name) ?? false, schema })),
      result: { name: 'result', schema: schemaOf(m.result, defs, 'output') },
      ...(m.websocketOnly === true ? { 'x-transport': 'websocket' } : {})
    }
  })
  return {
    openrpc: '1.3.2',
    info: { title: 'tmsg', version, description: 'JSON-RPC 2.0 over HTTP POST / and WebSocket; auth: <datadir>/rpc.cookie as Basic or Bearer' },
    methods: docs,
    components: {
      schemas: JSON.parse(JSON.stringify(defs).replaceAll('#/$defs/', '#/components/schemas/')) as unknown,
      errors: Object.fromEntries(Object.entries(ERROR_CODES).map(([name, code]) => [name, { code, message: name, data: { name } }]))
    }
  }
}

/** A compact Markdown table of the methods, for the README. */
export function methodsMarkdown (methods: readonly MethodDef[]): string {
  const lines = ['| method | params | |', '|---|---|---|']
  for (const m of methods) {
    const params = schemaOf(m.params, {}, 'input') as { properties?: Record<string, JsonSchema>, required?: string[] }
    const names = Object.keys(params.properties ?? {}).map(n => params.required?.includes(n) === true ? n : `${n}?`)
    lines.push(`| \`${m.name}\` | ${names.length === 0 ? '—' : '`' + names.join('`, `') + '`'} | ${m.summary} |`)
  }
  return lines.join('\n')
}

const README_START = '<!-- rpc-methods:start (generated from src/rpc/api.ts by `npm run docs`) -->'
const README_END = '<!-- rpc-methods:end -->'

/** The README with its method table replaced by the generated one. */
export function withMethodsTable (readme: string, methods: readonly MethodDef[]): string {
  const start = readme.indexOf(README_START)
  const end = readme.indexOf(README_END)
  if (start < 0 || end < start) throw new Error(`README has no ${README_START} … ${README_END} block`)
  return readme.slice(0, start + README_START.length) + '\n' + methodsMarkdown(methods) + '\n' + readme.slice(end)
}
