/** Bounded waiting for a condition: multi-node tests never sleep for a fixed time. */
export async function waitFor (cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000, everyMs = 10): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await cond()) return
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, everyMs))
  }
}

/**
 * Asks again until the answer is what the test waits for, and returns it: a query that collects
 * answers for a fixed window returns what came in time, and on a loaded machine the first
 * window can close before a remote node (signing, reading its wallet) has answered.
 */
export async function answered<T> (ask: () => Promise<T>, done: (answer: T) => boolean, what: string, timeoutMs = 30_000): Promise<T> {
  let answer: T | undefined
  await waitFor(async () => done(answer = await ask()), what, timeoutMs, 100)
  return answer!
}
