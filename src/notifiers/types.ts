import type { Outcome } from '../contracts.ts';

/**
 * What a message says, before it is words on a medium: a headline, labelled facts, and sections
 * of lines. Text and HTML are both rendered from it, so they always say the same.
 */
export interface MessageModel {
  outcome: Outcome;
  subject: string;
  headline: string;
  facts: [label: string, value: string][];
  /** `code` sections (keys, locations) are set in monospace; a line starting with two spaces is nested. */
  sections: { title: string; lines: string[]; code?: boolean }[];
  link?: { label: string; url: string };
  footer: string[];
}

/** A message as every notifier receives it; each sends the form its medium takes. */
export interface Message {
  outcome: Outcome;
  subject: string;
  /** Plain text, readable as it is in any mail client or terminal. */
  text: string;
  /** The same, as a small self-contained HTML page that reads well on a phone. */
  html: string;
  /** What it was rendered from: chat formats lay the facts out in their own way. */
  model?: MessageModel;
}

export interface Notifier {
  readonly name: string;
  /** Returns an id of what was sent (a message id, a file name). */
  send(message: Message): Promise<string>;
  /**
   * Whether a message could be sent now, without sending one (SMTP login, SES identity); says
   * what it found, throws what stops it. Absent where only sending would tell.
   */
  check?(): Promise<string>;
}
