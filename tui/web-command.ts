/**
 * `/web`: the login URL of this node's web chat (DESIGN §12), so the chat in the terminal and
 * the one in the browser can be the same node. The URL holds the RPC secret: it is printed in
 * this terminal only, never sent anywhere.
 */
import { CommandError } from './commands.ts'
import type { CommandDef } from './commands.ts'

export const WEB_COMMANDS: CommandDef[] = [
  {
    name: 'web',
    args: '',
    summary: 'print the URL that opens this chat in a browser',
    help: 'Open the URL in a browser on this machine: it logs the browser in until tmsg restarts.\nAnyone with the URL can use this node: do not share it.',
    run: (ctx) => {
      const url = ctx.rpc?.loginUrl
      if (url === undefined) throw new CommandError('/web: the RPC is off (--rpc-port 0), and the web chat with it')
      ctx.print(`Open in a browser on this machine (logs it in until tmsg restarts; keep it private): ${url}`)
    }
  }
]
