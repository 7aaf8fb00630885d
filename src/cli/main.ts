/**
 * The `tmsg` command line (DESIGN §7). Flags come from the settings table in config.ts.
 */
import { Command, CommanderError, Option } from 'commander'
import { OPTIONS, resolveConfig } from '../config.ts'
import type { NodeConfig } from '../config.ts'
import { reportError, UsageError } from './errors.ts'

// Commands load what they need when they run: a client command has no use for libp2p, and
// importing it would add most of a second to every `tmsg info`.
const nodeCommand = async (): Promise<typeof import('./node-command.ts')> => await import('./node-command.ts')
const chatCommand = async (): Promise<typeof import('./chat-command.ts')> => await import('./chat-command.ts')
const clientCommands = async (): Promise<typeof import('./commands.ts')> => await import('./commands.ts')
import { version } from '../version.ts'

/** Adds the table's options to a command: all of them, or only those a client command needs. */
function withOptions (cmd: Command, nodeOptions: boolean): Command {
  for (const spec of OPTIONS) {
    if (spec.nodeOnly === true && !nodeOptions) continue
    const opt = new Option(spec.flag, `${spec.description} [env ${spec.env}]`)
    if (spec.repeatable === true) opt.argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v])
    cmd.addOption(opt)
  }
  return cmd
}

/** Only the options actually given on the command line, keyed like NodeConfig. */
function givenFlags (cmd: Command): Partial<Record<keyof NodeConfig, unknown>> {
  const out: Partial<Record<keyof NodeConfig, unknown>> = {}
  for (const spec of OPTIONS) {
    const attr = spec.flag.replace(/^--(no-)?/, '').split(' ')[0]!.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase())
    if (cmd.getOptionValueSource(attr) === 'cli') out[spec.key] = cmd.getOptionValue(attr)
  }
  return out
}

export function buildProgram (): Command {
  const program = new Command('tmsg')
    .description('peer-to-peer flood messaging: PIP-0038 TMsg over libp2p, chat, JSON-RPC, layer-2 payments')
    .version(version, '-V, --version')
    .showHelpAfterError('(tmsg --help for usage)')
    .exitOverride()

  withOptions(program.command('node'), true)
    .description('run a headless node: prints a "ready ..." line on stdout, logs on stderr')
    .action(async (_opts, cmd: Command) => { await (await nodeCommand()).runNode(resolveConfig(givenFlags(cmd))) })

  withOptions(program.command('chat', { isDefault: true }), true)
    .description('terminal chat on an embedded node (headless when not on a terminal)')
    .action(async (_opts, cmd: Command) => { await (await chatCommand()).runChat(resolveConfig(givenFlags(cmd))) })
  const client = (name: string, description: string): Command =>
    withOptions(program.command(name), false).description(description).option('--json', 'machine-readable output')

  client('info', 'show the node: identity, addresses, counters')
    .action(async (o: { json?: boolean }, cmd: Command) => { await (await clientCommands()).infoCommand(resolveConfig(givenFlags(cmd)), { json: o.json === true }) })
  client('peers', 'list connected peers')
    .action(async (o: { json?: boolean }, cmd: Command) => { await (await clientCommands()).peersCommand(resolveConfig(givenFlags(cmd)), { json: o.json === true }) })
  client('send', 'send a chat line to #room / @nick, or a data message to acct:… / hex')
    .argument('<target>', '#room, @nick, acct:<address> or 32 hex characters')
    .argument('<text...>', 'the text')
    .action(async (target: string, text: string[], o: { json?: boolean }, cmd: Command) => { await (await clientCommands()).sendCommand(resolveConfig(givenFlags(cmd)), target, text, { json: o.json === true }) })
  client('web', 'print the URL that logs a browser in to the web chat (valid until the node restarts)')
    .action(async (o: { json?: boolean }, cmd: Command) => { await (await clientCommands()).webCommand(resolveConfig(givenFlags(cmd)), { json: o.json === true }) })
  client('rpc', 'call any JSON-RPC method: tmsg rpc msg_history \'{"target":"#lobby"}\'')
    .argument('<method>')
    .argument('[params]', 'JSON object')
    .action(async (method: string, params: string | undefined, o: { json?: boolean }, cmd: Command) => { await (await clientCommands()).rpcCommand(resolveConfig(givenFlags(cmd)), method, params, { json: o.json === true }) })
  client('watch', 'print hits as they arrive (all, or those of the given targets); --channels: every channel event')
    .argument('[targets...]', 'targets; with --channels, one channel id (default: all)')
    .option('--channels', 'watch the money move: offers, opens, fundings, payments, acks, top-ups, closes, settlements, refunds')
    .action(async (targets: string[], o: { json?: boolean, channels?: boolean }, cmd: Command) => {
      await (await clientCommands()).watchCommand(resolveConfig(givenFlags(cmd)), targets, { json: o.json === true, channels: o.channels === true })
    })
  client('balance', 'ask the network for an account\'s balance (answers signed by its owner are verified)')
    .argument('<account>', 'a BSV address, or acct:<address>')
    .option('--timeout <ms>', 'how long to collect answers', '3000')
    .action(async (account: string, o: { json?: boolean, timeout: string }, cmd: Command) => {
      await (await clientCommands()).balanceCommand(resolveConfig(givenFlags(cmd)), account, Number(o.timeout), { json: o.json === true })
    })
  client('wallet', 'this node\'s coins on the ledger; `wallet send <to> <amount> [memo...]` pays someone')
    .argument('[action]', 'send')
    .argument('[args...]', 'send: <@nick|acct:address|address> <amount> [memo...]')
    .option('--faucet <amount>', 'development ledger: mint this many satoshis first')
    .action(async (action: string | undefined, args: string[], o: { json?: boolean, faucet?: string }, cmd: Command) => {
      const config = resolveConfig(givenFlags(cmd))
      const commands = await clientCommands()
      if (action === 'send') return await commands.walletSendCommand(config, args, { json: o.json === true })
      if (action !== undefined) throw new UsageError(`unknown wallet action "${action}": tmsg wallet [--faucet <amount>] | tmsg wallet send <to> <amount> [memo...]`)
      await commands.walletCommand(config, o.faucet === undefined ? undefined : Number(o.faucet), { json: o.json === true })
    })
  client('channel', 'payment channels: list, status, terms, offer, offers, open, pay, topup, fetch, close')
    .argument('<action>')
    .argument('[args...]')
    .option('--budget <sats>', 'open: stop paying at this total (default: the deposit)')
    .action(async (action: string, args: string[], o: { json?: boolean, budget?: string }, cmd: Command) => {
      await (await clientCommands()).channelCommand(resolveConfig(givenFlags(cmd)), action, args, { json: o.json === true, ...(o.budget !== undefined ? { budget: Number(o.budget) } : {}) })
    })
  return program
}

/**
 * Lets settings come before the command, git-style (`tmsg --datadir d info`): commander only
 * takes a subcommand's options after its name, so such a command is moved to the front.
 */
export function commandFirst (argv: readonly string[], commands: readonly string[]): string[] {
  const takesValue = new Set(OPTIONS.filter(o => o.flag.includes('<')).map(o => o.flag.split(' ')[0]!))
  let i = 0
  while (i < argv.length && argv[i]!.startsWith('-')) i += takesValue.has(argv[i]!) ? 2 : 1
  if (i === 0 || i >= argv.length || !commands.includes(argv[i]!)) return [...argv]
  return [argv[i]!, ...argv.slice(0, i), ...argv.slice(i + 1)]
}

export async function main (argv: string[]): Promise<number> {
  const program = buildProgram()
  try {
    await program.parseAsync(commandFirst(argv, program.commands.map(c => c.name())), { from: 'user' })
    return 0
  } catch (err: unknown) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2 // commander printed it already
    return reportError(err)
  }
}
