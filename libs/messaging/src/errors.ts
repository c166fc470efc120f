/**
 * Thrown by a handler when a message can never be processed (unknown step type, a reference
 * that does not exist): the message goes to the dead-letter queue at once, with this reason.
 */
export class UnprocessableMessage extends Error {
  override readonly name = 'UnprocessableMessage';
}
