// JSON-RPC 2.0 over the node's WebSocket (DESIGN §6): the page's only way to the node. The
// browser sends the session cookie with the upgrade; calls and msg_subscription notifications
// share the one socket. When it closes, the page is told and decides what to do.

/** An error answer from the node: `code` and `data.name` as in DESIGN §6. */
export class RpcError extends Error {
  constructor (error) {
    super(error.message)
    this.name = 'RpcError'
    this.code = error.code
    this.data = error.data
  }
}

export class Rpc {
  /**
   * @param {(method: string, params: any) => void} onNotify notifications (no id)
   * @param {() => void} onClose the socket closed (or never opened)
   */
  constructor (onNotify, onClose) {
    this.onNotify = onNotify
    this.onClose = onClose
    this.pending = new Map()
    this.nextId = 1
    this.ws = undefined
  }

  /** Opens the socket; resolves when it is open, rejects if it cannot be. */
  async connect () {
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/`
    const ws = new WebSocket(url)
    this.ws = ws
    await new Promise((resolve, reject) => {
      ws.addEventListener('open', resolve, { once: true })
      ws.addEventListener('error', () => { reject(new Error('cannot open a WebSocket to the node')) }, { once: true })
    })
    ws.addEventListener('message', ev => { this.receive(ev.data) })
    ws.addEventListener('close', () => {
      for (const { reject } of this.pending.values()) reject(new Error('connection to the node lost'))
      this.pending.clear()
      if (this.ws === ws) this.onClose()
    })
  }

  receive (text) {
    let msg
    try {
      msg = JSON.parse(text)
    } catch {
      return
    }
    for (const m of Array.isArray(msg) ? msg : [msg]) {
      if (m.id === undefined || m.id === null) {
        if (typeof m.method === 'string') this.onNotify(m.method, m.params)
        continue
      }
      const p = this.pending.get(m.id)
      if (p === undefined) continue
      this.pending.delete(m.id)
      if (m.error !== undefined) p.reject(new RpcError(m.error))
      else p.resolve(m.result)
    }
  }

  /** Calls a method with params by name; resolves with the result or rejects with RpcError. */
  async call (method, params = {}) {
    const ws = this.ws
    if (ws === undefined || ws.readyState !== WebSocket.OPEN) throw new Error('not connected to the node')
    const id = this.nextId++
    return await new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject })
      ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }))
    })
  }

  close () {
    const ws = this.ws
    this.ws = undefined
    ws?.close()
  }
}
