import type { AddressClass } from './address-class';

/**
 * Why an outbound request got no answer, as a stable code callers map to their own errors
 * (a step's `StepFailed`, a provider's failure…).
 */
export type OutboundFailureCode =
  | 'egress_denied'
  | 'connection_failed'
  | 'too_many_redirects'
  | 'invalid_redirect'
  | 'response_too_large';

/**
 * An outbound request that failed. The message names the destination without its query (which
 * may carry personal data) and never a header's value; a `connection_failed` keeps the socket's
 * error as its `cause`.
 */
export class OutboundFailure extends Error {
  override readonly name: string = 'OutboundFailure';
  constructor(
    readonly code: OutboundFailureCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A destination the SSRF guard refuses; the message says how to allow it. */
export class EgressDenied extends OutboundFailure {
  override readonly name = 'EgressDenied';
  constructor(
    message: string,
    /** The host as the request named it (a name or an IP literal). */
    readonly host: string,
    /** The refused address it resolved to. */
    readonly address: string,
    readonly addressClass: AddressClass,
  ) {
    super('egress_denied', message);
  }
}
