// Peer-supplied text is untrusted: before it reaches a terminal or a page, escape sequences and
// control characters are removed so no peer can move the cursor, recolour, retitle or clear
// anyone's screen, or make a line read differently from what it is.
//
// Plain JavaScript with no imports: the terminal chat imports it, and the web page loads this
// very file (served at /shared/text.js, see src/rpc/web.ts), so the rule lives in one place.

// CSI / OSC / DCS / SOS / PM / APC sequences and single-character escapes, 7-bit and 8-bit.
const ESCAPES = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b[\]PX^_][\s\S]*?(?:\u0007|\u001b\\|$)|\u009b[0-?]*[ -/]*[@-~]|[\u0090\u0098\u009d-\u009f][\s\S]*?(?:\u0007|\u009c|$)|\u001b[\s\S]?/g
// Remaining C0 and C1 controls (keeping \t and \n is the caller's choice), DEL, and the
// bidirectional overrides and isolates that can make text read differently from what it is.
const CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g

/**
 * Text safe to print: no escape sequences, no control characters except newline and tab.
 * @param {string} s
 * @returns {string}
 */
export function cleanText (s) {
  return String(s).replace(ESCAPES, '').replace(CONTROLS, '')
}

/**
 * One line safe to print: also newlines and tabs become spaces.
 * @param {string} s
 * @returns {string}
 */
export function cleanLine (s) {
  return cleanText(s).replace(/[\n\t\r]/g, ' ')
}
