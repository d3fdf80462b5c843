/**
 * The outbox: each message becomes one RFC 5322 .eml file in a folder, which any mail client
 * opens. It is how local runs "send" mail, and what the tests read back.
 */
import { chmod, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import path from 'node:path';
import { StorageError } from '../errors.ts';
import type { Message, Notifier } from './types.ts';

export interface OutboxOptions {
  path: string;
  from?: string;
  to?: string[];
  /**
   * Mode of each mail file, e.g. 0o640 for a share whose group reads it. Default 0o600: mails name databases and where
   * their backups are.
   */
  mode?: number;
}

/** A folder's mode for a file mode: each class that may read the files may also list the folder. */
export function folderMode(fileMode: number): number {
  return fileMode | ((fileMode & 0o444) >> 2);
}

export class OutboxNotifier implements Notifier {
  readonly name: string;
  private readonly options: OutboxOptions;
  private readonly now: () => Date;

  constructor(name: string, options: OutboxOptions, now: () => Date = () => new Date()) {
    this.name = name;
    this.options = options;
    this.now = now;
  }

  /** The folder takes a file: one is written and removed (and the folder too, if this made it). */
  async check(): Promise<string> {
    const folder = this.options.path;
    let created: string | undefined;
    try {
      created = await mkdir(folder, { recursive: true, mode: folderMode(this.options.mode ?? 0o600) });
      const probe = path.join(folder, `.check-${randomBytes(6).toString('hex')}`);
      await writeFile(probe, '', { mode: 0o600 });
      await rm(probe, { force: true });
      return `${folder} takes mail files`;
    } catch (error) {
      throw new StorageError(`outbox ${this.name}: cannot write into ${folder}: ${(error as Error).message}`);
    } finally {
      if (created) await rm(created, { recursive: true, force: true });
    }
  }

  async send(message: Message): Promise<string> {
    const date = this.now();
    const id = `${date.toISOString().replace(/[-:.]/g, '')}-${message.outcome}-${randomBytes(3).toString('hex')}`;
    const file = path.join(this.options.path, `${id}.eml`);
    const eml = renderEml(message, {
      from: this.options.from ?? 'stepvault@localhost',
      to: this.options.to ?? ['operator@localhost'],
      date,
      messageId: `<${id}@${hostname() || 'localhost'}>`,
    });
    const mode = this.options.mode ?? 0o600;
    try {
      const created = await mkdir(this.options.path, { recursive: true, mode: folderMode(mode) });
      // The umask may have narrowed what mkdir and writeFile set; only folders made here are changed.
      if (created) await chmodCreated(created, this.options.path, folderMode(mode));
      await writeFile(`${file}.tmp`, eml, { mode, flag: 'wx' });
      await chmod(`${file}.tmp`, mode);
      await rename(`${file}.tmp`, file);
    } catch (error) {
      throw new StorageError(`outbox ${this.name}: cannot write ${file}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    return file;
  }
}

/** `first` is the outermost folder mkdir created; it and every folder below it down to `leaf` get `mode`. */
async function chmodCreated(first: string, leaf: string, mode: number): Promise<void> {
  let folder = path.resolve(leaf);
  const top = path.resolve(first);
  for (;;) {
    await chmod(folder, mode);
    if (folder === top || path.dirname(folder) === folder) return;
    folder = path.dirname(folder);
  }
}

export function renderEml(
  message: Message,
  envelope: { from: string; to: string[]; date: Date; messageId: string },
): string {
  const boundary = `stepvault-${envelope.messageId.replace(/[^A-Za-z0-9]/g, '')}`;
  const headers = [
    `From: ${envelope.from}`,
    `To: ${envelope.to.join(', ')}`,
    `Subject: ${encodeHeader(message.subject)}`,
    `Date: ${envelope.date.toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: ${envelope.messageId}`,
    'MIME-Version: 1.0',
    `Content-Type: multipart/alternative; boundary="${boundary}"`,
    `X-Stepvault-Outcome: ${message.outcome}`,
  ];
  // The text part stays 8bit so the file reads with `cat`; lines are wrapped below the 998-octet
  // limit. The HTML has long lines and goes as base64.
  const text = message.text
    .split('\n')
    .flatMap((line) => line.match(/.{1,900}/gu) ?? [''])
    .join('\r\n');
  const html = Buffer.from(message.html, 'utf8').toString('base64').replace(/.{76}/g, '$&\r\n');
  return [
    headers.join('\r\n'),
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    '',
    text,
    `--${boundary}`,
    'Content-Type: text/html; charset=utf-8',
    'Content-Transfer-Encoding: base64',
    '',
    html,
    `--${boundary}--`,
    '',
  ].join('\r\n');
}

/** RFC 2047: a subject with non-ASCII characters travels as UTF-8 base64. */
function encodeHeader(value: string): string {
  return /^[\x20-\x7e]*$/.test(value) ? value : `=?UTF-8?B?${Buffer.from(value, 'utf8').toString('base64')}?=`;
}
