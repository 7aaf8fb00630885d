/**
 * Key bindings, as one pure function from a key press to an action: irssi/weechat habits
 * (Alt+1..9, Ctrl+N/P, Alt+A, PgUp/PgDn) plus the usual readline editing keys.
 */
import type { Key } from './blessed.ts'

export type Action =
  | { type: 'insert', text: string }
  | { type: 'buffer', index: number }
  | {
    type: 'submit' | 'backspace' | 'delete' | 'left' | 'right' | 'home' | 'end' | 'word-left' | 'word-right'
    | 'kill-start' | 'kill-end' | 'kill-word' | 'history-prev' | 'history-next' | 'complete' | 'complete-back'
    | 'page-up' | 'page-down' | 'buffer-next' | 'buffer-prev' | 'buffer-active' | 'redraw' | 'quit'
  }

type Simple = Exclude<Action, { type: 'insert' | 'buffer' }>['type']

const BINDINGS: Record<string, Simple> = {
  return: 'submit',
  linefeed: 'submit',
  backspace: 'backspace',
  'C-h': 'backspace',
  delete: 'delete',
  'C-d': 'delete',
  left: 'left',
  'C-b': 'left',
  right: 'right',
  'C-f': 'right',
  home: 'home',
  'C-a': 'home',
  end: 'end',
  'C-e': 'end',
  'M-b': 'word-left',
  'C-left': 'word-left',
  'M-f': 'word-right',
  'C-right': 'word-right',
  'C-u': 'kill-start',
  'C-k': 'kill-end',
  'C-w': 'kill-word',
  'M-backspace': 'kill-word',
  up: 'history-prev',
  down: 'history-next',
  tab: 'complete',
  'S-tab': 'complete-back',
  pageup: 'page-up',
  pagedown: 'page-down',
  'C-n': 'buffer-next',
  'C-p': 'buffer-prev',
  'M-a': 'buffer-active',
  'C-l': 'redraw',
  'C-c': 'quit'
}

/** The action for a key press, or undefined for keys that do nothing. */
export function actionFor (ch: string | undefined, key: Key): Action | undefined {
  const bound = BINDINGS[key.full]
  if (bound !== undefined) return { type: bound }
  // Alt+1 … Alt+9 are buffers 1-9, Alt+0 is buffer 10 (irssi).
  const alt = /^M-([0-9])$/.exec(key.full)
  if (alt !== null) return { type: 'buffer', index: alt[1] === '0' ? 9 : Number(alt[1]) - 1 }
  // Blessed reports the Enter key twice (as `return` and `enter`): only `return` counts.
  if (key.name === 'enter') return undefined
  if (ch !== undefined && !key.ctrl && !key.meta && ch !== '' && !/[\u0000-\u001f\u007f]/.test(ch)) return { type: 'insert', text: ch }
  return undefined
}
