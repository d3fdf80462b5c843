import type { Outcome } from '../contracts.ts';

/** A message as every notifier receives it; each renders it in its own medium. */
export interface Message {
  outcome: Outcome;
  subject: string;
  /** Plain text, readable as it is in any mail client or terminal. */
  text: string;
}

export interface Notifier {
  readonly name: string;
  /** Returns an id of what was sent (a message id, a file name). */
  send(message: Message): Promise<string>;
}
