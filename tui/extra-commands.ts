/**
 * Slash commands contributed by layers above chat (layer-2: /balance, /pay, /channels,
 * /offer), registered after the core ones. Like `src/rpc/extra.ts` for RPC methods: the
 * layer adds its definitions here and the core command table stays untouched. Each entry is
 * a `CommandDef` (see commands.ts): its `args` syntax and `summary` appear in /help, its
 * handler gets `ctx.app` (the embedded node) and `ctx.print` for output, and may be async.
 */
import type { CommandDef } from './commands.ts'

export const extraCommands: CommandDef[] = []
