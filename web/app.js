// The web chat (DESIGN §12): the same node as the terminal chat, through its public JSON-RPC.
// State lives in `convs` (one entry per room or direct conversation); the DOM is drawn from
// it. Peer text only ever reaches the page through textContent / text nodes.
import { Rpc } from './rpc.js'
import { runCommand, suggestions } from './commands.js'
import { parseInput, usage } from './shared/commands.js'
import { cleanText } from './shared/text.js'
import { isValidNick, mentions, nickColour, nickKey, shortAccount } from './shared/nicks.js'
import { clock, dayKey, dayLabel, sats, splitLinks } from './text.js'

/** Messages fetched per msg_history call (first screen and each scroll back). */
const PAGE = 50
/** Lines by one sender closer than this are drawn as one group (name shown once). */
const GROUP_MS = 5 * 60_000
/** The room a first visit joins, as the terminal chat does. */
const DEFAULT_ROOM = '#lobby'
const PEERS_EVERY_MS = 5000
/** Longer lines show this much until "show all" is clicked (the terminal chat cuts at 2,000 too). */
const FOLD_CHARS = 2000

const $ = id => document.getElementById(id)
const el = (tag, cls, text) => {
  const e = document.createElement(tag)
  if (cls) e.className = cls
  if (text !== undefined) e.textContent = text
  return e
}

// ---- state --------------------------------------------------------------------------------

const me = { account: '', nick: undefined, peerId: '' }
/** key ('#room' or 'acct:<address>') → conversation */
const convs = new Map()
let currentKey
/** nick (lower case) → accounts heard signing as it: two or more → lines show the signer. */
const nickAccounts = new Map()
const whoisAsked = new Set()
let battery = { channelId: localStorage.getItem('tmsg.battery') ?? undefined, status: undefined }
const sent = []
let sentCursor = -1
/** msgIds of long lines the user unfolded. */
const unfolded = new Set()

/** A saved object, or an empty one when there is none or it does not parse. */
function saved (name) {
  try {
    const v = JSON.parse(localStorage.getItem(name) ?? '{}')
    return typeof v === 'object' && v !== null ? v : {}
  } catch {
    return {}
  }
}

/** What this browser remembers: where each conversation was read up to, closed conversations. */
const store = {
  lastRead: saved('tmsg.lastRead'),
  closed: saved('tmsg.closed'),
  save () {
    localStorage.setItem('tmsg.lastRead', JSON.stringify(this.lastRead))
    localStorage.setItem('tmsg.closed', JSON.stringify(this.closed))
  }
}

function newConv (key, nick) {
  const direct = key.startsWith('acct:')
  return { key, kind: direct ? 'direct' : 'room', account: direct ? key.slice(5) : undefined, nick, items: [], ids: new Set(), unread: 0, mentions: 0, exhausted: false, loading: false, loaded: false }
}

function conv (key, nick) {
  let c = convs.get(key)
  if (c === undefined) {
    c = newConv(key, nick)
    convs.set(key, c)
  } else if (nick !== undefined && c.nick === undefined) {
    c.nick = nick
  }
  return c
}

/** Which conversation a delivered message belongs to, if it is a chat line. */
function keyOf (m) {
  if (m.kind === 'direct' && typeof m.peer === 'string') return 'acct:' + m.peer
  if (m.kind === 'chat' && typeof m.targetName === 'string' && m.targetName.startsWith('#')) return m.targetName
  return undefined
}

function isOwn (m) {
  return m.account !== undefined && m.account === me.account
}

function noteNick (m) {
  if (!isValidNick(m.nick) || m.account === undefined) return
  const k = nickKey(m.nick)
  let set = nickAccounts.get(k)
  if (set === undefined) {
    set = new Set()
    nickAccounts.set(k, set)
  }
  if (set.size < 16 && !set.has(m.account)) {
    set.add(m.account)
    if (set.size === 2) scheduleRender('refresh') // earlier lines of that nick now show their signer too
  }
  // Keys heard before this page was open count too: ask the node once per nick.
  if (!whoisAsked.has(k) && whoisAsked.size < 2000) {
    whoisAsked.add(k)
    rpc.call('chat_whois', { nick: k }).then(keys => {
      const before = set.size
      for (const key of keys.slice(0, 16)) set.add(key.account)
      if (set.size > 1 && before !== set.size) scheduleRender('refresh') // lines of that nick now show their signer
    }, () => {})
  }
}

/** The name shown for a sender: the nick, and the short account when the nick is shared. */
function label (m) {
  if (isValidNick(m.nick)) {
    const shared = (nickAccounts.get(nickKey(m.nick))?.size ?? 0) > 1
    return { nick: m.nick, account: shared && m.account !== undefined ? shortAccount(m.account) : undefined }
  }
  return { nick: m.account !== undefined ? shortAccount(m.account) : 'anonymous', account: undefined }
}

function isMention (c, m) {
  return !isOwn(m) && (c.kind === 'direct' || mentions(m.text, me.nick))
}

// ---- receiving ----------------------------------------------------------------------------

/** A live message: into its conversation, counted unread unless it is being looked at. */
function onMessage (m) {
  const key = keyOf(m)
  if (key === undefined) return
  if (key.startsWith('acct:') && store.closed[key] !== undefined) {
    delete store.closed[key]
    store.save()
  }
  const c = conv(key, m.kind === 'direct' && !isOwn(m) && isValidNick(m.nick) ? m.nick : undefined)
  if (c.ids.has(m.msgId)) return
  noteNick(m)
  c.ids.add(m.msgId)
  c.items.push({ type: 'msg', m })
  if (m.kind === 'direct' && !isOwn(m) && isValidNick(m.nick)) c.nick = m.nick
  if (key === currentKey && !document.hidden) markRead(c)
  else if (!isOwn(m)) {
    c.unread++
    if (isMention(c, m)) {
      c.mentions++
      notify(c, m)
    }
  }
  scheduleRender(key === currentKey ? 'append' : 'none')
}

/** A desktop notification for a mention or a direct message, when the user asked for them. */
function notify (c, m) {
  if (localStorage.getItem('tmsg.notify') !== '1' || typeof Notification === 'undefined' || Notification.permission !== 'granted') return
  const who = label(m)
  const title = `${who.nick}${who.account !== undefined ? ` (${who.account})` : ''}${c.kind === 'room' ? ` in ${c.key}` : ' (direct)'}`
  const text = cleanText(m.text ?? '')
  // The body is plain text to the browser; `tag` keeps one notification per conversation.
  const n = new Notification(title, { body: text.length > 200 ? text.slice(0, 200) + '…' : text, tag: c.key, icon: '/icon.svg' })
  n.onclick = () => {
    window.focus()
    switchTo(c.key)
    n.close()
  }
}

function renderNotifyButton () {
  const b = $('notify')
  const supported = typeof Notification !== 'undefined'
  b.hidden = !supported
  if (!supported) return
  const on = localStorage.getItem('tmsg.notify') === '1' && Notification.permission === 'granted'
  b.textContent = on ? 'Notifications on' : 'Notifications off'
  b.title = Notification.permission === 'denied' ? 'The browser blocks notifications for this page' : on ? 'Mentions and direct messages pop up when this page is not in view' : 'Pop up mentions and direct messages when this page is not in view'
}

function markRead (c) {
  c.unread = 0
  c.mentions = 0
  const last = c.items.findLast(i => i.type === 'msg')
  if (last !== undefined && (store.lastRead[c.key] ?? 0) < last.m.receivedAt) {
    store.lastRead[c.key] = last.m.receivedAt
    store.save()
  }
}

/** Loads the newest page (first time) or the page before the oldest line held. */
async function loadHistory (c, older) {
  if (c.loading || (older && c.exhausted)) return
  if (older && c.cursor === undefined) { // nothing came back the first time: there is nothing before
    c.exhausted = true
    scheduleRender(c.key === currentKey ? 'prepend' : 'none')
    return
  }
  c.loading = true
  try {
    const rows = await rpc.call('msg_history', { target: c.key, limit: PAGE, ...(older ? { before: c.cursor } : {}) })
    // The page goes on from the oldest row the node returned, shown or not (a room may hold
    // data messages too): otherwise a page of nothing to show would be asked for again.
    if (older || !c.loaded) c.cursor = rows[0]?.msgId ?? c.cursor
    const fresh = rows.filter(m => keyOf(m) === c.key && !c.ids.has(m.msgId))
    for (const m of fresh) {
      c.ids.add(m.msgId)
      noteNick(m)
    }
    const items = fresh.map(m => ({ type: 'msg', m }))
    if (older) {
      c.items.unshift(...items)
      if (rows.length < PAGE) c.exhausted = true
    } else {
      // First load, or a catch-up after a reconnect: what is new goes after what is shown.
      if (!c.loaded && rows.length < PAGE) c.exhausted = true
      c.items.push(...items)
      c.items.sort((a, b) => (a.m?.receivedAt ?? a.at) - (b.m?.receivedAt ?? b.at))
      countUnread(c, fresh)
    }
    if (c.kind === 'direct' && c.nick === undefined) c.nick = fresh.findLast(m => !isOwn(m) && isValidNick(m.nick))?.nick
    c.loaded = true
  } finally {
    c.loading = false
  }
  scheduleRender(c.key === currentKey ? (older ? 'prepend' : 'refresh') : 'none')
}

/** Unread lines since this browser last looked (kept in localStorage). */
function countUnread (c, fresh) {
  const since = store.lastRead[c.key]
  if (since === undefined) {
    markRead(c) // first visit: nothing is "unread" from before the page existed
    return
  }
  if (c.key === currentKey && !document.hidden) return markRead(c)
  for (const m of fresh) {
    if (m.receivedAt <= since || isOwn(m)) continue
    c.unread++
    if (isMention(c, m)) c.mentions++
  }
}

// ---- drawing ------------------------------------------------------------------------------

let renderQueued = false
let renderMode = 'none'
/** How to redraw the list, weakest first: new lines at the end only, everything keeping the
 * scroll position, everything keeping the distance from the bottom (older lines came in above),
 * everything and go to the end. */
const MODES = ['none', 'append', 'refresh', 'prepend', 'full']

/** Coalesces redraws into one per frame; `mode` says how to keep the scroll position. */
function scheduleRender (mode = 'none') {
  if (MODES.indexOf(mode) > MODES.indexOf(renderMode)) renderMode = mode
  if (renderQueued) return
  renderQueued = true
  requestAnimationFrame(() => {
    renderQueued = false
    const m = renderMode
    renderMode = 'none'
    renderSidebar()
    renderHeader()
    if (m !== 'none') renderLines(m)
  })
}

function sortedConvs (kind) {
  const list = [...convs.values()].filter(c => c.kind === kind && !(kind === 'direct' && store.closed[c.key] !== undefined && c.key !== currentKey))
  if (kind === 'room') return list
  const lastAt = c => c.items.findLast(i => i.type === 'msg')?.m.receivedAt ?? 0
  return list.sort((a, b) => lastAt(b) - lastAt(a))
}

function convLabel (c) {
  if (c.kind === 'room') return { name: c.key, sub: undefined }
  return { name: c.nick !== undefined ? '@' + c.nick : shortAccount(c.account), sub: c.nick !== undefined ? shortAccount(c.account) : undefined }
}

function renderSidebar () {
  for (const [kind, list] of [['room', $('rooms')], ['direct', $('directs')]]) {
    const items = sortedConvs(kind).map(c => {
      const li = el('li')
      const b = el('button', 'conv')
      b.type = 'button'
      b.dataset.key = c.key
      if (c.key === currentKey) b.classList.add('active')
      if (c.unread > 0) b.classList.add('unread')
      const { name, sub } = convLabel(c)
      b.append(el('span', 'name', name))
      if (sub !== undefined) b.append(el('span', 'acct', sub))
      if (c.mentions > 0) b.append(el('span', 'badge mention', String(c.mentions)))
      else if (c.unread > 0) b.append(el('span', 'badge', String(c.unread)))
      b.addEventListener('click', () => { switchTo(c.key) })
      li.append(b)
      return li
    })
    list.replaceChildren(...items)
    if (items.length === 0) list.append(el('li', 'empty', kind === 'room' ? 'No rooms: /join #room' : 'None yet: /query @nick'))
  }
  const unread = [...convs.values()].reduce((n, c) => n + (c.key === currentKey ? 0 : c.unread), 0)
  const mention = [...convs.values()].some(c => c.key !== currentKey && c.mentions > 0)
  const badge = $('menu-badge')
  badge.hidden = unread === 0
  badge.textContent = String(unread)
  badge.classList.toggle('mention', mention)
  $('me-nick').textContent = me.nick ?? '(no nick: /nick <name>)'
  $('me-account').textContent = me.account
  const c = convs.get(currentKey)
  document.title = `${unread > 0 ? `(${unread}) ` : ''}${c !== undefined ? convLabel(c).name + ' — ' : ''}tmsg`
}

function renderHeader () {
  const c = convs.get(currentKey)
  const { name } = c === undefined ? { name: 'tmsg' } : convLabel(c)
  $('conv-title').textContent = name
  $('conv-sub').textContent = c === undefined
    ? ''
    : c.kind === 'direct' ? `end-to-end encrypted · ${c.account}` : 'a public room: anyone listening on the network reads it'
  const leave = $('leave')
  leave.hidden = c === undefined
  leave.textContent = c?.kind === 'direct' ? 'Close' : 'Leave'
  leave.title = c?.kind === 'direct' ? 'Close this conversation (it comes back with the next message)' : `Leave ${name}`
  $('input').placeholder = c === undefined ? '/join #room — /help for commands' : `Message ${name} — /help for commands`
  const b = battery.status
  const box = $('battery')
  box.hidden = b === undefined
  if (b !== undefined) {
    const left = b.budget > 0 ? Math.max(0, Math.min(1, (b.budget - b.paid) / b.budget)) : 0
    $('battery-fill').style.width = `${Math.round(left * 100)}%`
    $('battery-text').textContent = `${Math.round(left * 100)}%`
    $('battery-service').textContent = b.service
    box.classList.toggle('low', b.paid >= 0.8 * b.budget)
    box.title = `Channel ${b.channelId.slice(0, 10)} (${b.service}): ${sats(b.paid)} paid of a ${sats(b.budget)} budget; payments stop at 100%`
  }
}

function textInto (parent, text) {
  for (const part of splitLinks(cleanText(text))) {
    if (part.href === undefined) {
      parent.append(document.createTextNode(part.text))
      continue
    }
    const a = el('a', undefined, part.text)
    a.href = part.href
    a.target = '_blank'
    a.rel = 'noopener noreferrer nofollow'
    parent.append(a)
  }
}

function lineOf (c, item, prev) {
  if (item.type === 'notice') {
    const li = el('li', `notice ${item.level}`)
    li.append(el('span', 'text', item.text))
    return li
  }
  const m = item.m
  const li = el('li', 'msg')
  li.dataset.id = m.msgId
  if (isOwn(m)) li.classList.add('own')
  if (m.action === true) li.classList.add('action')
  if (isMention(c, m) && c.kind === 'room') li.classList.add('mention')
  const p = prev?.type === 'msg' ? prev.m : undefined
  const grouped = p !== undefined && m.action !== true && p.action !== true && p.account === m.account && p.nick === m.nick && m.timestamp - p.timestamp < GROUP_MS && dayKey(p.timestamp) === dayKey(m.timestamp)
  if (grouped) li.classList.add('cont')
  const time = el('time', 'time', clock(m.timestamp))
  time.dateTime = new Date(m.timestamp).toISOString()
  time.title = new Date(m.timestamp).toLocaleString()
  const who = el('span', `who c${nickColour(m.nick ?? m.account ?? '')}`)
  const l = label(m)
  who.append(el('span', 'nick', l.nick))
  if (l.account !== undefined) who.append(el('span', 'acct', l.account))
  who.title = `${m.account ?? 'unsigned'}${m.verified ? '' : ' — signature not verified'}`
  const body = el('div', 'body')
  const head = el('div', 'head')
  head.append(who, time)
  if (!m.verified) head.append(el('span', 'unverified', 'unverified'))
  const text = el('div', 'text')
  if (m.action === true) text.append(el('span', 'star', '* '), el('span', 'nick', l.nick), document.createTextNode(' '))
  const full = m.text ?? ''
  const folded = [...full].length > FOLD_CHARS && !unfolded.has(m.msgId)
  textInto(text, folded ? [...full].slice(0, FOLD_CHARS).join('') + '…' : full)
  body.append(head, text)
  if (folded) {
    const more = el('button', 'more', `Show all (${([...full].length - FOLD_CHARS).toLocaleString()} more characters)`)
    more.type = 'button'
    more.addEventListener('click', () => {
      unfolded.add(m.msgId)
      text.replaceChildren()
      if (m.action === true) text.append(el('span', 'star', '* '), el('span', 'nick', l.nick), document.createTextNode(' '))
      textInto(text, full)
      more.remove()
    })
    body.append(more)
  }
  li.append(body)
  return li
}

/** What the list shows now: appending new lines then draws only those. */
let drawn = { key: undefined, items: undefined, count: 0, state: undefined }

/** List elements for `items[from…]`, continuing from `state` (day, group, read marker). */
function linesFor (c, from, state) {
  const out = []
  for (const item of c.items.slice(from)) {
    const at = item.type === 'msg' ? item.m.timestamp : item.at
    if (dayKey(at) !== state.day) {
      state.day = dayKey(at)
      const sep = el('li', 'day')
      sep.append(el('span', undefined, dayLabel(at)))
      out.push(sep)
      state.prev = undefined
    }
    if (!state.marked && item.type === 'msg' && item.m.receivedAt > c.marker && !isOwn(item.m)) {
      state.marked = true
      const sep = el('li', 'new')
      sep.append(el('span', undefined, 'new'))
      out.push(sep)
      state.prev = undefined
    }
    out.push(lineOf(c, item, state.prev))
    state.prev = item
  }
  return out
}

function renderLines (mode) {
  const log = $('log')
  const lines = $('lines')
  const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40
  const fromBottom = log.scrollHeight - log.scrollTop
  const c = convs.get(currentKey)
  if (c === undefined) {
    lines.replaceChildren()
    drawn = { key: undefined, items: undefined, count: 0, state: undefined }
  } else if (mode === 'append' && drawn.key === c.key && drawn.items === c.items && drawn.count <= c.items.length) {
    lines.append(...linesFor(c, drawn.count, drawn.state))
    drawn.count = c.items.length
  } else {
    const state = { day: undefined, prev: undefined, marked: c.marker === undefined }
    lines.replaceChildren(...linesFor(c, 0, state))
    drawn = { key: c.key, items: c.items, count: c.items.length, state }
  }
  $('log-top').textContent = c === undefined ? '' : c.exhausted ? (c.kind === 'room' ? `The beginning of ${c.key} on this node.` : 'The beginning of this conversation.') : c.loading ? 'Loading…' : ''
  if (mode === 'prepend') log.scrollTop = log.scrollHeight - fromBottom
  else if (mode === 'full' || atBottom) log.scrollTop = log.scrollHeight
  // Not enough lines to scroll yet: fetch more until there are, or the history ends.
  if (c !== undefined && !c.exhausted && !c.loading && c.loaded && log.scrollHeight <= log.clientHeight + 40) void loadHistory(c, true).catch(showError)
}

// ---- acting -------------------------------------------------------------------------------

/** Before the unread lines are marked read: where the "new" line goes (Element's read marker). */
function placeMarker (c) {
  c.marker = c.unread > 0 ? (store.lastRead[c.key] ?? 0) : undefined
}

function switchTo (key) {
  if (!convs.has(key)) return
  const left = convs.get(currentKey)
  if (left !== undefined && left.key !== key) left.marker = undefined
  currentKey = key
  localStorage.setItem('tmsg.current', key)
  const c = convs.get(key)
  placeMarker(c)
  markRead(c)
  document.body.classList.remove('drawer-open')
  scheduleRender('full')
  if (!c.loaded) void loadHistory(c, false).catch(showError)
  $('input').focus({ preventScroll: true })
}

function print (text, level = 'info') {
  const c = convs.get(currentKey)
  if (c === undefined) {
    $('log-top').textContent = text
    return
  }
  c.items.push({ type: 'notice', text, level, at: Date.now() })
  scheduleRender('append')
}

function showError (err) {
  print(err instanceof Error ? err.message : String(err), 'error')
}

const ctx = {
  rpc: undefined,
  print,
  current: () => convs.get(currentKey),
  setNick: nick => { me.nick = nick; scheduleRender('full') },
  join: async room => {
    await rpc.call('chat_join', { room })
    const c = conv(room.toLowerCase())
    switchTo(c.key)
  },
  part: async key => {
    const c = convs.get(key)
    if (c?.kind === 'direct') {
      store.closed[key] = Date.now()
      store.save()
    } else {
      await rpc.call('chat_part', { room: key })
      convs.delete(key)
    }
    if (currentKey === key) {
      currentKey = undefined // first: a closed conversation is listed only while it is the current one
      const next = sortedConvs('room')[0] ?? sortedConvs('direct')[0]
      if (next !== undefined) switchTo(next.key)
    }
    scheduleRender('full')
  },
  openDirect: (account, nick) => {
    const c = conv('acct:' + account, nick)
    delete store.closed[c.key]
    store.save()
    switchTo(c.key)
  },
  send: async (to, text, action) => { await rpc.call('chat_send', { to, text, action }) },
  clear: () => {
    const c = convs.get(currentKey)
    if (c === undefined) return
    c.items = []
    c.exhausted = true // scrolling back would only bring back what was cleared
    scheduleRender('full')
  },
  heard: since => {
    const c = convs.get(currentKey)
    const seen = new Map()
    for (const i of c?.items ?? []) {
      if (i.type !== 'msg' || i.m.timestamp < since) continue
      const l = label(i.m)
      seen.set(l.nick + (l.account ?? ''), l.account === undefined ? l.nick : `${l.nick}(${l.account})`)
    }
    return [...seen.values()].reverse()
  },
  logout
}

/** A POST (with the Origin the browser adds) rather than a link: no other site can log us out. */
async function logout () {
  await fetch('/logout', { method: 'POST' })
  location.href = '/'
}

async function submit (line) {
  const input = parseInput(line)
  if (input.kind === 'empty') return
  if (input.kind === 'command') {
    await runCommand(ctx, input.name, input.argText)
    return
  }
  const c = convs.get(currentKey)
  if (c === undefined) throw new Error('Join a room first: /join #room')
  c.marker = undefined // answering is reading
  await rpc.call('chat_send', { to: c.key, text: input.text })
}

/** Tab after the start of a nick: the nicks heard here, most recent first; Tab again cycles. */
let completion
function completeNick (input) {
  const at = input.selectionStart ?? input.value.length
  if (completion !== undefined && completion.value === input.value && completion.at === at) {
    completion.index = (completion.index + 1) % completion.matches.length
  } else {
    const m = /(^|\s)(@?)([A-Za-z0-9_.-]+)$/.exec(input.value.slice(0, at))
    if (m === null) return false
    const prefix = m[3].toLowerCase()
    const start = at - m[3].length // an @ typed before the nick stays
    const seen = new Set()
    const matches = []
    const c = convs.get(currentKey)
    for (const i of [...(c?.items ?? [])].reverse()) {
      const nick = i.type === 'msg' && isValidNick(i.m.nick) ? i.m.nick : undefined
      if (nick === undefined || isOwn(i.m) || seen.has(nickKey(nick)) || !nickKey(nick).startsWith(prefix)) continue
      seen.add(nickKey(nick))
      matches.push(nick)
    }
    if (c?.kind === 'direct' && c.nick !== undefined && !seen.has(nickKey(c.nick)) && nickKey(c.nick).startsWith(prefix)) matches.push(c.nick)
    if (matches.length === 0) return false
    completion = { start, matches, index: 0, rest: input.value.slice(at), at: 0, value: '' }
  }
  // At the start of a line, IRC style: "bob: "; inside it, "bob ".
  const word = completion.matches[completion.index] + (completion.start === 0 ? ': ' : ' ')
  const before = input.value.slice(0, completion.start) + word
  input.value = before + completion.rest
  input.setSelectionRange(before.length, before.length)
  completion.at = before.length
  completion.value = input.value
  return true
}

function setupComposer () {
  const input = $('input')
  const grow = () => {
    input.style.height = 'auto'
    input.style.height = `${Math.min(input.scrollHeight, 160)}px`
  }
  const suggest = $('suggest')
  const refreshSuggest = () => {
    const m = /^\/(\S*)$/.exec(input.value)
    const list = m === null ? [] : suggestions(m[1])
    suggest.hidden = list.length === 0
    suggest.replaceChildren(...list.slice(0, 8).map(d => {
      const li = el('li')
      const b = el('button', undefined)
      b.type = 'button'
      b.append(el('span', 'cmd', usage(d)), el('span', 'sum', d.summary))
      b.addEventListener('click', () => {
        input.value = `/${d.name}${d.args === '' ? '' : ' '}`
        refreshSuggest()
        input.focus()
      })
      li.append(b)
      return li
    }))
  }
  const send = () => {
    const line = input.value
    if (line.trim() === '') return
    input.value = ''
    grow()
    refreshSuggest()
    sent.push(line)
    if (sent.length > 100) sent.shift()
    sentCursor = -1
    submit(line).catch(showError)
  }
  $('composer').addEventListener('submit', ev => {
    ev.preventDefault()
    send()
  })
  input.addEventListener('input', () => { grow(); refreshSuggest() })
  input.addEventListener('keydown', ev => {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault()
      send()
    } else if (ev.key === 'Tab' && /^\/\S*$/.test(input.value)) {
      const first = suggestions(input.value.slice(1))[0]
      if (first !== undefined) {
        ev.preventDefault()
        input.value = `/${first.name} `
        refreshSuggest()
      }
    } else if (ev.key === 'Tab' && !ev.shiftKey && completeNick(input)) {
      ev.preventDefault()
    } else if (ev.key === 'ArrowUp' && (input.value === '' || sentCursor >= 0) && sent.length > 0) {
      ev.preventDefault()
      sentCursor = sentCursor < 0 ? sent.length - 1 : Math.max(0, sentCursor - 1)
      input.value = sent[sentCursor]
    } else if (ev.key === 'ArrowDown' && sentCursor >= 0) {
      ev.preventDefault()
      sentCursor = sentCursor + 1 >= sent.length ? -1 : sentCursor + 1
      input.value = sentCursor < 0 ? '' : sent[sentCursor]
    } else if (ev.key === 'Escape') {
      suggest.hidden = true
    }
  })
}

// ---- peers, battery -----------------------------------------------------------------------

async function refreshPeers () {
  if (document.hidden) return
  const peers = await rpc.call('peers_list')
  const n = peers.filter(p => p.neighbour !== false).length
  $('peer-count').textContent = `${n} peer${n === 1 ? '' : 's'}`
  $('conn').classList.toggle('alone', n === 0)
}

/** The budget of the client channel in use: the one paid through last, while it is open. */
async function refreshBattery () {
  const list = await rpc.call('channel_list')
  const open = list.filter(c => c.role === 'client' && c.state === 'open' && c.budget !== undefined)
  const chosen = open.find(c => c.channelId === battery.channelId) ?? open.at(-1)
  battery = { channelId: chosen?.channelId, status: chosen }
  scheduleRender()
}

function onChannelEvent (e) {
  if (e.role !== 'client' || e.channelId === undefined) return
  if (battery.channelId !== e.channelId) {
    battery.channelId = e.channelId
    localStorage.setItem('tmsg.battery', e.channelId)
  }
  refreshBattery().catch(() => {})
}

// ---- connection ---------------------------------------------------------------------------

const rpc = new Rpc((method, params) => {
  if (method === 'msg_subscription') onMessage(params.result)
  else if (method === 'channel_subscription') onChannelEvent(params.result)
}, () => { void reconnect() })
ctx.rpc = rpc

function setConnected (on) {
  $('conn').classList.toggle('off', !on)
  $('conn').title = on ? 'connected to the node' : 'not connected to the node: retrying'
}

/** Everything the page shows, from the node: who we are, conversations, their recent past. */
async function sync () {
  const info = await rpc.call('node_info')
  me.account = info.account
  me.peerId = info.peerId
  me.nick = info.nick ?? undefined
  // Subscribe before reading history: a line in between is in one or both, shown once.
  await rpc.call('msg_subscribe', {})
  await rpc.call('channel_subscribe', {}).catch(() => {})
  let list = await rpc.call('chat_conversations', {})
  if (list.rooms.length === 0 && convs.size === 0) {
    await rpc.call('chat_join', { room: DEFAULT_ROOM })
    list = await rpc.call('chat_conversations', {})
  }
  for (const room of list.rooms) conv(room)
  for (const d of list.direct) conv('acct:' + d.account, d.nick)
  for (const c of convs.values()) if (c.kind === 'room' && !list.rooms.includes(c.key)) convs.delete(c.key)
  const saved = localStorage.getItem('tmsg.current')
  const start = currentKey ?? (saved !== null && convs.has(saved) ? saved : list.rooms[0] ?? [...convs.keys()][0])
  await Promise.all([...convs.values()].map(c => loadHistory(c, false)))
  if (start !== undefined) switchTo(start)
  if (me.nick === undefined) print('You have no nick yet: /nick <name> sets one (others see your account until then).', 'warn')
  await Promise.all([refreshPeers(), refreshBattery().catch(() => {})])
}

let retrying = false
async function reconnect () {
  setConnected(false)
  if (retrying) return
  retrying = true
  for (let wait = 500; ; wait = Math.min(wait * 2, 10_000)) {
    await new Promise(resolve => setTimeout(resolve, wait))
    let status
    try {
      status = (await fetch('/session', { cache: 'no-store' })).status
    } catch {
      continue // the node is not answering (stopped?): keep trying
    }
    // The cookie no longer opens this node (it restarted, or we logged out): show the login help.
    if (status === 401) return location.reload()
    try {
      await rpc.connect()
      await sync()
      setConnected(true)
      retrying = false
      return
    } catch {
      // try again
    }
  }
}

async function main () {
  setupComposer()
  const log = $('log')
  log.addEventListener('scroll', () => {
    const c = convs.get(currentKey)
    if (c !== undefined && log.scrollTop < 200 && !c.exhausted && !c.loading) void loadHistory(c, true).catch(showError)
  })
  $('menu').addEventListener('click', () => { document.body.classList.toggle('drawer-open') })
  $('scrim').addEventListener('click', () => { document.body.classList.remove('drawer-open') })
  $('add-room').addEventListener('click', () => { $('input').value = '/join #'; $('input').focus() })
  $('add-dm').addEventListener('click', () => { $('input').value = '/query @'; $('input').focus() })
  $('peers-button').addEventListener('click', () => { runCommand(ctx, 'peers', '').catch(showError) })
  renderNotifyButton()
  $('logout').addEventListener('click', () => { logout().catch(showError) })
  $('notify').addEventListener('click', () => {
    if (localStorage.getItem('tmsg.notify') === '1' && Notification.permission === 'granted') {
      localStorage.removeItem('tmsg.notify')
      renderNotifyButton()
      return
    }
    Notification.requestPermission().then(p => {
      if (p === 'granted') localStorage.setItem('tmsg.notify', '1')
      renderNotifyButton()
    }, () => {})
  })
  $('leave').addEventListener('click', () => { if (currentKey !== undefined) ctx.part(currentKey).catch(showError) })
  // Alt+Up/Down: the conversation above or below in the sidebar, as in Slack and Element.
  document.addEventListener('keydown', ev => {
    if (!ev.altKey || (ev.key !== 'ArrowUp' && ev.key !== 'ArrowDown')) return
    const order = [...sortedConvs('room'), ...sortedConvs('direct')].map(c => c.key)
    const i = order.indexOf(currentKey)
    const next = order[(i + (ev.key === 'ArrowUp' ? -1 : 1) + order.length) % order.length]
    if (next !== undefined) {
      ev.preventDefault()
      switchTo(next)
    }
  })
  document.addEventListener('visibilitychange', () => {
    const c = convs.get(currentKey)
    if (!document.hidden && c !== undefined) {
      if (c.unread > 0) {
        placeMarker(c)
        scheduleRender('full')
      }
      markRead(c)
      scheduleRender()
    }
  })
  setInterval(() => { if (rpc.ws?.readyState === WebSocket.OPEN) refreshPeers().catch(() => {}) }, PEERS_EVERY_MS)
  try {
    await rpc.connect()
    await sync()
    setConnected(true)
  } catch (err) {
    showError(err)
    void reconnect()
  }
}

void main()
