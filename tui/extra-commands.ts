/**
 * Slash commands contributed by layers above chat (layer-2: /balance, /pay, /channels,
 * /offer), registered after the core ones — as `src/rpc/api.ts` does for RPC methods: the
 * layer lists its definitions here and the core command table stays untouched.
 *
 * A `CommandDef` (commands.ts) gives `name`, `args` syntax (`<required> [optional] <rest...>`,
 * checked before the handler runs), a one-line `summary` (and optional `help`) for /help,
 * optionally `complete` for Tab, and `run(ctx, args)`, which may be async. `ctx.app` is the
 * embedded App (so `ctx.app.layer2`), `ctx.print(text, 'info' | 'warn' | 'error')` writes to
 * the buffer the command was typed in; a thrown error becomes a red line there. E.g.:
 *
 *     {
 *       name: 'balance', args: '<account>', summary: 'ask the network for a balance',
 *       run: async (ctx, { account }) => { ctx.print(`…`) }
 *     }
 */
import type { CommandDef } from './commands.ts'
import { LAYER2_COMMANDS } from './layer2-commands.ts'
import { WEB_COMMANDS } from './web-command.ts'

export const extraCommands: CommandDef[] = [...LAYER2_COMMANDS, ...WEB_COMMANDS]
