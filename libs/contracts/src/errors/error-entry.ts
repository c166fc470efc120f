/** What sort of failure an error is; each side maps kinds to its own transport (HTTP: a status). */
export type ErrorKind = 'invalid' | 'not_found' | 'conflict' | 'unavailable' | 'internal';

/** One error of a catalogue, under its code. */
export interface ErrorEntry {
  readonly kind: ErrorKind;
  /** Short and human, the same for every occurrence: "Workflow archived". */
  readonly title: string;
}
