/**
 * A body written into a Drive resumable upload, in chunks that are multiples of 256 KiB as Drive
 * asks, each PUT with its Content-Range and an unknown total (`bytes a-b/*`). The last piece is
 * kept back for `commit`, which sends it with the total: only then does the file exist. A chunk
 * whose answer was lost, or that Drive took only in part, goes on from the offset Drive reports
 * (a status query, `bytes *\/*`, answered 308 with a Range).
 */
import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import type { GdriveClient } from './client.ts';

export interface NewFile {
  name: string;
  parents: string[];
  mimeType: string;
  appProperties: Record<string, string>;
}

/** A failed request by hand, shaped as the SDK's errors are, so one classification serves both. */
export function httpError(response: Response, body: string, what: string): Error {
  let data: unknown = body;
  try {
    data = JSON.parse(body);
  } catch {}
  return Object.assign(new Error(`${what}: HTTP ${response.status} ${body.slice(0, 300)}`), {
    status: response.status,
    response: { status: response.status, headers: response.headers, data },
  });
}

const QUANTUM = 256 * 1024;

export class ResumableUploadSink extends Writable {
  private readonly md5 = createHash('md5');
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private session: string | undefined;
  private offset = 0;
  private readonly client: GdriveClient;
  private readonly chunkSize: number;
  private readonly file: NewFile;
  private readonly failure: (error: unknown) => Error;

  constructor(client: GdriveClient, chunkSize: number, file: NewFile, failure: (error: unknown) => Error) {
    super();
    this.client = client;
    this.chunkSize = Math.max(QUANTUM, Math.floor(chunkSize / QUANTUM) * QUANTUM);
    this.file = file;
    this.failure = failure;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.md5.update(chunk);
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    this.sendFullChunks().then(
      () => callback(),
      (error: unknown) => callback(this.failure(error)),
    );
  }

  md5Hex(): string {
    return this.md5.copy().digest('hex');
  }

  /** Sends the rest with the total: Drive makes the file and answers with its id. */
  async commit(): Promise<string> {
    const rest = Buffer.concat(this.pending);
    const total = this.offset + rest.length;
    const response = await this.put(rest, total);
    if (response.status !== 200 && response.status !== 201)
      throw httpError(response, await response.text(), 'the upload did not finish');
    const made = (await response.json()) as { id?: string };
    if (!made.id) throw new Error('Drive finished the upload without a file id');
    return made.id;
  }

  private async sendFullChunks(): Promise<void> {
    // Strictly more than a chunk: the last request must carry bytes and the total.
    while (this.pendingBytes > this.chunkSize) {
      const all = Buffer.concat(this.pending);
      const chunk = all.subarray(0, this.chunkSize);
      const rest = all.subarray(this.chunkSize);
      this.pending = [rest];
      this.pendingBytes = rest.length;
      const response = await this.put(chunk, undefined);
      if (response.status !== 308) throw httpError(response, await response.text(), 'a chunk was refused');
      await response.body?.cancel();
    }
  }

  /**
   * PUTs `bytes` at the current offset, retrying from what Drive holds after a lost answer or a
   * 5xx. Answers the last response (308 for a chunk, 200/201 for the last piece).
   */
  private async put(bytes: Buffer, total: number | undefined): Promise<Response> {
    const session = await this.start();
    const start = this.offset;
    for (let attempt = 1; ; attempt++) {
      const from = this.offset - start;
      const part = bytes.subarray(from);
      const size = total === undefined ? '*' : String(total);
      const range =
        part.length > 0 ? `bytes ${this.offset}-${this.offset + part.length - 1}/${size}` : `bytes */${size}`;
      let response: Response | undefined;
      let failure: unknown;
      try {
        response = await this.client.fetch(session, { method: 'PUT', headers: { 'Content-Range': range }, body: part });
      } catch (error) {
        failure = error;
      }
      if (response && (response.status === 200 || response.status === 201)) {
        this.offset = start + bytes.length;
        return response;
      }
      if (response?.status === 308) {
        this.offset = nextOffset(response);
        if (this.offset - start >= bytes.length) return response;
        continue; // Drive took part of it: send the rest.
      }
      if (response && response.status < 500) return response; // 404/410: the session expired; the caller says so.
      failure ??= httpError(response!, await response!.text(), 'a chunk failed');
      const wait = this.client.waitBeforeRetry(failure, attempt);
      if (wait === undefined || attempt >= 5) throw failure;
      await new Promise((resolve) => setTimeout(resolve, wait));
      this.offset = await this.storedOffset(session, start);
    }
  }

  /** What Drive holds of the upload: its answer to a status query. */
  private async storedOffset(session: string, fallback: number): Promise<number> {
    try {
      const response = await this.client.fetch(session, { method: 'PUT', headers: { 'Content-Range': 'bytes */*' } });
      await response.body?.cancel();
      return response.status === 308 ? nextOffset(response) : fallback;
    } catch {
      return fallback;
    }
  }

  private async start(): Promise<string> {
    if (this.session) return this.session;
    const url = `${this.client.root}upload/drive/v3/files?uploadType=resumable&supportsAllDrives=true`;
    const response = await this.client.request(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json; charset=UTF-8', 'X-Upload-Content-Type': this.file.mimeType },
      body: JSON.stringify(this.file),
    });
    const location = response.headers.get('location');
    if (response.status !== 200 || !location) throw httpError(response, await response.text(), 'no upload session');
    await response.body?.cancel();
    this.session = location;
    return location;
  }
}

/** The offset after the Range a 308 reports ("bytes=0-N"), or 0 when Drive holds nothing. */
function nextOffset(response: Response): number {
  const range = /bytes=0-(\d+)/.exec(response.headers.get('range') ?? '');
  return range ? Number(range[1]) + 1 : 0;
}
