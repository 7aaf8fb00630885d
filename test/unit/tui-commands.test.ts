/** The one command table: parsing, usage errors, /help generated from it, extra commands. */
import { describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import { bindArgs, CommandError, CommandTable, CORE_COMMANDS, DuplicateCommandError, parseInput } from '../../tui/commands.ts'
import type { CommandContext, CommandDef } from '../../tui/commands.ts'
import { ChatModel } from '../../tui/model.ts'
import { displayWidth } from '../../tui/blessed.ts'
import type { App } from '../../src/app.ts'
import { WEB_COMMANDS } from '../../tui/web-command.ts'

function context (table: CommandTable): { ctx: CommandContext, printed: Array<[string, string]> } {
  const model = new ChatModel({ measure: displayWidth, account: '1Me', nick: 'me' })
  const printed: Array<[string, string]> = []
  const ctx: CommandContext = {
    app: {} as App, // the commands under test here never reach the node
    model,
    buffer: model.system,
    table,
    print: (text, level = 'info') => { printed.push([level, text]) },
    switchTo: () => {},
    peerRtt: () => undefined,
    quit: () => {},
    now: Date.now
  }
  return { ctx, printed }
}

const balance: CommandDef = {
  name: 'balance',
  args: '<account> [note...]',
  summary: 'ask the network for an account\'s balance',
  help: 'Answers come from the owner (verified)\nand from channel peers (claims).',
  run: (ctx, { account, note }) => { ctx.print(`balance of ${account!}${note === undefined ? '' : ` (${note})`}`) }
}

describe('parsing a typed line', () => {
  it('tells commands from text', () => {
    expect(parseInput('/JOIN  #Lobby ')).toEqual({ kind: 'command', name: 'join', argText: '#Lobby ' })
    expect(parseInput('/quit')).toEqual({ kind: 'command', name: 'quit', argText: '' })
    expect(parseInput('hello /world')).toEqual({ kind: 'text', text: 'hello /world' })
    expect(parseInput('//etc/passwd is a path')).toEqual({ kind: 'text', text: '/etc/passwd is a path' })
    expect(parseInput('   ')).toEqual({ kind: 'empty' })
  })

  it('binds arguments by the declared syntax, and explains wrong use', () => {
    const msg = CORE_COMMANDS.find(c => c.name === 'msg')!
    expect(bindArgs(msg, '@bob  hi   there ')).toEqual({ target: '@bob', text: 'hi   there' })
    expect(() => bindArgs(msg, '@bob')).toThrow(new CommandError('/msg: missing text. Usage: /msg <target> <text...>'))
    const join = CORE_COMMANDS.find(c => c.name === 'join')!
    expect(() => bindArgs(join, '#a #b')).toThrow(new CommandError('/join: too many arguments ("#b"). Usage: /join <#room>'))
    const part = CORE_COMMANDS.find(c => c.name === 'part')!
    expect(bindArgs(part, '')).toEqual({})
  })
})

describe('the command table', () => {
  it('holds every command of the issue, and /help lists them all from the table', () => {
    const table = new CommandTable(CORE_COMMANDS)
    const names = table.list().map(c => c.name)
    expect(names).toEqual(['clear', 'connect', 'help', 'join', 'me', 'msg', 'names', 'nick', 'part', 'peers', 'query', 'quit'])
    const help = table.helpLines().join('\n')
    for (const c of table.list()) expect(help).toContain(`/${c.name}`)
    expect(help).toMatch(/\/join <#room> +join a room/)
    expect(table.commandHelp('/part')).toEqual(['/part [#room] — leave this room (or the one named), or close this query', '  aliases: /leave, /close'])
  })

  it('takes extra commands from other layers, which then show in /help and run', async () => {
    const table = new CommandTable(CORE_COMMANDS)
    table.register(balance)
    expect(table.helpLines().join('\n')).toMatch(/\/balance <account> \[note\.\.\.\] +ask the network/)
    expect(table.commandHelp('balance')).toEqual([
      '/balance <account> [note...] — ask the network for an account\'s balance',
      '  Answers come from the owner (verified)',
      '  and from channel peers (claims).'
    ])
    const { ctx, printed } = context(table)
    await table.run(ctx, 'balance', '1Boat  for the record')
    expect(printed).toEqual([['info', 'balance of 1Boat (for the record)']])
  })

  it('is what the README\'s chat section lists', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
    const section = readme.slice(readme.indexOf('## Chat in the terminal'), readme.indexOf('## Running a node'))
    for (const c of CORE_COMMANDS) expect(section, `README lists /${c.name}`).toContain('`/' + c.name)
  })

  it('refuses a name or alias that is taken, or not a command name', () => {
    const table = new CommandTable(CORE_COMMANDS)
    expect(() => { table.register({ ...balance, name: 'join' }) }).toThrow(DuplicateCommandError)
    expect(() => { table.register({ ...balance, aliases: ['j'] }) }).toThrow(DuplicateCommandError)
    expect(() => { table.register({ ...balance, name: 'Pay Me' }) }).toThrow(/command name/)
    expect(() => { table.register({ ...balance, name: 'pay', args: 'account' }) }).toThrow(/argument syntax/)
    expect(table.find('pay')).toBeUndefined()
  })

  it('turns unknown commands, bad arguments and failing handlers into lines, never exceptions', async () => {
    const table = new CommandTable(CORE_COMMANDS)
    table.register({ name: 'boom', args: '', summary: 'fails', run: () => { throw new Error('kaput') } })
    table.register({ name: 'later', args: '', summary: 'fails later', run: async () => { await Promise.resolve(); throw new Error('too late') } })
    const { ctx, printed } = context(table)
    await table.run(ctx, 'jion', '#x')
    await table.run(ctx, 'join', '')
    await table.run(ctx, 'boom', '')
    await table.run(ctx, 'later', '')
    await table.run(ctx, 'me', 'waves') // in the system buffer
    await table.run(ctx, 'help', 'nope')
    await table.run(ctx, 'q', '') // an alias: /query without its nick
    expect(printed).toEqual([
      ['error', '/jion: no such command. Did you mean /join? /help lists them.'],
      ['error', '/join: missing room. Usage: /join <#room>'],
      ['error', 'kaput'],
      ['error', 'too late'],
      ['error', '/me needs a room or a query: /join #room or /query @nick first'],
      ['error', '/nope: no such command. /help lists them.'],
      ['error', '/query: missing nick. Usage: /query <@nick> [text...]']
    ])
  })
})

describe('/web', () => {
  it('prints the login URL of this node\'s web chat, or says the RPC is off', async () => {
    const table = new CommandTable(CORE_COMMANDS)
    for (const d of WEB_COMMANDS) table.register(d)
    const url = `http://127.0.0.1:4003/login?token=${'ab'.repeat(32)}`
    const on = context(table)
    on.ctx.rpc = { url: 'http://127.0.0.1:4003/', loginUrl: url }
    await table.run(on.ctx, 'web', '')
    expect(on.printed).toEqual([['info', expect.stringContaining(url)]])
    const off = context(table)
    await table.run(off.ctx, 'web', '')
    expect(off.printed).toEqual([['error', expect.stringContaining('RPC is off')]])
  })
})
