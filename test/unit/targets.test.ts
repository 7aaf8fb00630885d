import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { accountTarget, channelTarget, nickTarget, parseTarget, rawTarget, TargetSyntaxError } from '../../src/targets.ts'

const md5 = (s: string): string => createHash('md5').update(s, 'utf8').digest('hex')

describe('targets (DESIGN §2)', () => {
  it('derives ids as MD5 of the lower-cased canonical name', () => {
    expect(parseTarget('#Lobby')).toMatchObject({ kind: 'channel', name: 'chan:#lobby', short: '#lobby', hex: md5('chan:#lobby') })
    expect(parseTarget('@Alice')).toMatchObject({ kind: 'nick', name: 'nick:alice', short: '@alice', hex: md5('nick:alice') })
    const addr = '1BoatSLRHtKNngkdXEeobR76b53LETtpyT'
    expect(parseTarget(`acct:${addr}`)).toMatchObject({ kind: 'account', name: `acct:${addr}`, hex: md5(`acct:${addr}`) })
    expect(parseTarget('00112233445566778899AABBCCDDEEFF')).toMatchObject({ kind: 'raw', hex: '00112233445566778899aabbccddeeff' })
  })

  it('accepts canonical forms too', () => {
    expect(parseTarget('chan:#lobby').hex).toBe(channelTarget('lobby').hex)
    expect(parseTarget('nick:bob').hex).toBe(nickTarget('@BOB').hex)
  })

  it.each(['#', '#has space', `#${'a'.repeat(51)}`, '@', `@${'a'.repeat(33)}`, '@no!', 'acct:1BoatSLRHtKNngkdXEeobR76b53LETtpyX', 'acct:mzBc4XEFSdzCDcTxAgf6EZXgsZWpztRhef', 'lobby', '0011'])('rejects %s', (t) => {
    expect(() => parseTarget(t)).toThrow(TargetSyntaxError)
  })

  it('keeps names within their limits', () => {
    expect(channelTarget('#' + 'a'.repeat(50)).short).toHaveLength(51)
    expect(nickTarget('a'.repeat(32)).name).toBe('nick:' + 'a'.repeat(32))
    expect(accountTarget('1BoatSLRHtKNngkdXEeobR76b53LETtpyT').kind).toBe('account')
    expect(rawTarget(new Uint8Array(16)).hex).toBe('0'.repeat(32))
  })
})
