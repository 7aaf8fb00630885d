/**
 * Service discovery (DESIGN §8): a client floods TERMS_REQUEST to a service's target;
 * providers answer with TERMS routed back along the reverse path.
 *
 * Service targets are raw targets `MD5("svc:<service>")`, and `MD5("svc:*")` for "any
 * service" (DESIGN §2 has no service kind; this is this implementation's choice).
 */
import { rawTarget, targetIdOf } from '../../targets.ts'
import type { Target } from '../../targets.ts'
import { accountOf, peerIdOf } from '../../identity.ts'
import { TermsRequestType, TermsType, decodeAs, encodeAs } from '../proto.ts'

export function serviceTarget (service?: string): Target {
  return rawTarget(targetIdOf(`svc:${service ?? '*'}`))
}

/** What a provider offers, as clients see it (channel_terms). */
export interface ServiceTerms {
  /** The provider's PeerId. */
  provider: string
  account: string
  service: string
  pricePerUnit: number
  unit: string
  minDeposit: number
  windowSeconds: number
  contentRoot?: string
  addresses: string[]
  providerKey: Uint8Array
  chunkCount?: number
  chunkSize?: number
  contentSize?: number
}

interface TermsWire {
  service: string, pricePerUnit: number, unit: string, minDeposit: number, windowSeconds: number, providerKey: Uint8Array
  addresses: string[], contentRoot: Uint8Array, chunkCount: number, chunkSize: number, contentSize: number
}

export function encodeTermsRequest (service?: string): Uint8Array {
  return encodeAs(TermsRequestType, { service: service ?? '' })
}

export function decodeTermsRequest (payload: Uint8Array): { service?: string } {
  const r = decodeAs<{ service: string }>(TermsRequestType, payload)
  return r.service === '' ? {} : { service: r.service }
}

export function encodeTerms (t: Omit<ServiceTerms, 'provider' | 'account'>): Uint8Array {
  return encodeAs(TermsType, {
    ...t,
    contentRoot: t.contentRoot !== undefined ? Buffer.from(t.contentRoot, 'hex') : undefined
  })
}

/**
 * Terms as a client trusts them: only from a signed reply whose signer is the provider key
 * the terms name (anyone can forward bytes; only the provider can sign for itself).
 */
export function decodeTerms (payload: Uint8Array, signer: Uint8Array): ServiceTerms | undefined {
  let w: TermsWire
  try {
    w = decodeAs<TermsWire>(TermsType, payload)
  } catch {
    return undefined
  }
  if (w.providerKey.length !== 33 || Buffer.compare(Buffer.from(w.providerKey), Buffer.from(signer)) !== 0) return undefined
  if (w.service === '' || w.pricePerUnit < 0 || w.minDeposit < 0 || w.windowSeconds <= 0) return undefined
  return {
    provider: peerIdOf(w.providerKey),
    account: accountOf(w.providerKey),
    service: w.service,
    pricePerUnit: w.pricePerUnit,
    unit: w.unit,
    minDeposit: w.minDeposit,
    windowSeconds: w.windowSeconds,
    ...(w.contentRoot.length > 0 ? { contentRoot: Buffer.from(w.contentRoot).toString('hex'), chunkCount: w.chunkCount, chunkSize: w.chunkSize, contentSize: w.contentSize } : {}),
    addresses: w.addresses,
    providerKey: Uint8Array.from(w.providerKey)
  }
}
