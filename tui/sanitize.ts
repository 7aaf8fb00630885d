/**
 * Peer text on its way to the screen. `cleanLine` (src/shared/text.js) already removes escape
 * sequences and control characters; the terminal adds more ways to spoil a screen: stacks
 * of combining marks that paint over the lines above ("zalgo"), invisible characters that
 * throw columns out of line, and sheer length that makes every render slow. Blessed tags (`{red-bg}`) are escaped by the view, where the text
 * meets the tag parser, so this text is still the literal one.
 */
import { cleanLine } from '../src/shared/text.js'

/** Characters of one message kept for display; the rest is summarised, not rendered. */
export const MAX_DISPLAY_CHARS = 2000
/** Combining marks kept on one base character (real scripts need two at most). */
const MAX_COMBINING = 2

const COMBINING = /\p{M}/u
// Invisible format characters (zero-width space, soft hyphen, BOM…) take no column in a
// terminal but a cell in blessed, which would shift the rest of the line. The zero-width
// joiner stays: it holds emoji sequences together, and blessed keeps it in its emoji's cell.
const INVISIBLE = /(?!\u200d)\p{Cf}/gu

/** One display-safe line of at most `max` code points, with a note of what was cut. */
export function displayText (raw: string, max = MAX_DISPLAY_CHARS): string {
  const line = cleanLine(raw).replace(INVISIBLE, '')
  const out: string[] = []
  let marks = 0
  let kept = 0
  let total = 0
  for (const ch of line) {
    if (COMBINING.test(ch)) {
      if (++marks > MAX_COMBINING) continue
    } else {
      marks = 0
    }
    total++
    if (kept < max) {
      out.push(ch)
      kept++
    }
  }
  return total > kept ? `${out.join('')} … (${total - kept} more characters not shown)` : out.join('')
}
