/**
 * What sort of failure an error is; each side maps kinds to its own transport (HTTP: a status).
 * `forbidden`: the caller is known, but its credentials do not allow what it asked for.
 * `limited`: the caller is over one of its limits; it may come back later.
 */
export type ErrorKind =
  'invalid' | 'forbidden' | 'not_found' | 'conflict' | 'limited' | 'unavailable' | 'internal';

/** One error of a catalogue, under its code. */
export interface ErrorEntry {
  readonly kind: ErrorKind;
  /** Short and human, the same for every occurrence: "Workflow archived". */
  readonly title: string;
}
