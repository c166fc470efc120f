import type { FieldProblem, RpcErrorCode } from '@weft/contracts';

/**
 * Thrown by a handler when a message can never be processed (unknown step type, a reference
 * that does not exist): the message goes to the dead-letter queue at once, with this reason.
 */
export class UnprocessableMessage extends Error {
  override readonly name = 'UnprocessableMessage';
}

/** A domain answer of an RPC handler, carried back to the caller as a code and a message. */
export class RpcError extends Error {
  override readonly name = 'RpcError';
  constructor(
    readonly code: RpcErrorCode,
    message: string,
    /** For `invalid_request`: each problem at the JSON path of its field. */
    readonly problems: readonly FieldProblem[] = [],
  ) {
    super(message);
  }
}
