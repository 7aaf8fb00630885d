// Slash command syntax, the same in the terminal chat and the web page: a typed line is a
// command or text, and a command's declared arguments (`<required>`, `[optional]`, a trailing
// `...` takes the rest of the line) bind the text after it, or say how to use it.
//
// Plain JavaScript with no imports: the terminal chat imports it, and the web page loads this
// very file (served at /shared/commands.js, see src/rpc/web.ts).

/** A command used wrongly; the message says how to use it. */
export class CommandError extends Error {
  /** @param {string} message */
  constructor (message) {
    super(message)
    this.name = 'CommandError'
  }
}

/** @typedef {{ name: string, required: boolean, rest: boolean }} ArgSpec */
/** @typedef {{ name: string, args: string }} CommandSyntax */
/** @typedef {Record<string, string | undefined>} ArgValues */
/** @typedef {{ kind: 'empty' } | { kind: 'text', text: string } | { kind: 'command', name: string, argText: string }} ParsedInput */

const ARG_TOKEN = /^([<[])([^\]>]+?)(\.\.\.)?[\]>]$/

/**
 * @param {string} syntax
 * @returns {ArgSpec[]}
 */
export function parseArgSyntax (syntax) {
  return syntax.split(/\s+/).filter(t => t !== '').map(token => {
    const m = ARG_TOKEN.exec(token)
    if (m === null) throw new Error(`bad argument syntax "${token}" in "${syntax}"`)
    return { name: String(m[2]).replace(/[^A-Za-z0-9_]/g, ''), required: m[1] === '<', rest: m[3] !== undefined }
  })
}

/**
 * @param {CommandSyntax} def
 * @returns {string}
 */
export function usage (def) {
  return `/${def.name}${def.args === '' ? '' : ' ' + def.args}`
}

/**
 * Binds the text after a command to its declared arguments, or says what is wrong.
 * @param {CommandSyntax} def
 * @param {string} argText
 * @returns {ArgValues}
 */
export function bindArgs (def, argText) {
  /** @type {ArgValues} */
  const out = {}
  let rest = argText.trim()
  for (const spec of parseArgSyntax(def.args)) {
    if (rest === '') {
      if (spec.required) throw new CommandError(`/${def.name}: missing ${spec.name}. Usage: ${usage(def)}`)
      continue
    }
    if (spec.rest) {
      out[spec.name] = rest
      rest = ''
    } else {
      const m = /** @type {RegExpExecArray} */ (/^(\S+)\s*([\s\S]*)$/.exec(rest))
      out[spec.name] = m[1]
      rest = String(m[2])
    }
  }
  if (rest !== '') throw new CommandError(`/${def.name}: too many arguments ("${rest}"). Usage: ${usage(def)}`)
  return out
}

/**
 * A typed line: a command, or text to send (`//text` sends `/text`).
 * @param {string} line
 * @returns {ParsedInput}
 */
export function parseInput (line) {
  if (line.trim() === '') return { kind: 'empty' }
  if (line.startsWith('//')) return { kind: 'text', text: line.slice(1) }
  if (!line.startsWith('/')) return { kind: 'text', text: line }
  const m = /** @type {RegExpExecArray} */ (/^\/(\S*)\s*([\s\S]*)$/.exec(line))
  return { kind: 'command', name: String(m[1]).toLowerCase(), argText: String(m[2]) }
}
