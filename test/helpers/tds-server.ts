/**
 * A small SQL Server for the tests: it speaks TDS 7.4 over TCP — pre-login (no encryption),
 * login (LOGINACK, ENVCHANGE, DONE; or a login error), SQL batches answered with INFO, ERROR and
 * DONE tokens and simple result sets — and records every batch. What a batch does is up to the
 * test's `onBatch`; `backupToShare` plays BACKUP DATABASE … TO DISK by writing the file into
 * the local folder that stands for the share.
 */
import { createServer, type Server, type Socket } from 'node:net';

export type Reply =
  | { kind: 'info'; number: number; message: string }
  | { kind: 'error'; number: number; message: string; severity?: number }
  | { kind: 'rows'; columns: { name: string; type: 'int' | 'nvarchar' }[]; rows: (number | string)[][] }
  /** Sends what came before it and waits, as a server does between STATS messages of a long BACKUP. */
  | { kind: 'pause'; ms: number };

export interface TdsServerOptions {
  /** Refuse logins with SQL Server's error 18456. */
  failLogin?: boolean;
  onBatch?: (sql: string) => Reply[] | Promise<Reply[]>;
}

export interface TdsServer {
  port: number;
  batches: string[];
  close(): Promise<void>;
}

const TYPE = { SQL_BATCH: 0x01, LOGIN7: 0x10, PRELOGIN: 0x12, REPLY: 0x04 };

export async function startTdsServer(options: TdsServerOptions): Promise<TdsServer> {
  const batches: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buffered = Buffer.alloc(0);
    let message: Buffer[] = [];
    let queue = Promise.resolve();
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 8 && buffered.length >= buffered.readUInt16BE(2)) {
        const length = buffered.readUInt16BE(2);
        const type = buffered[0]!;
        const last = (buffered[1]! & 0x01) === 0x01;
        message.push(buffered.subarray(8, length));
        buffered = buffered.subarray(length);
        if (!last) continue;
        const payload = Buffer.concat(message);
        message = [];
        queue = queue.then(() => handle(socket, type, payload)).catch(() => void socket.destroy());
      }
    });
  });

  async function handle(socket: Socket, type: number, payload: Buffer): Promise<void> {
    if (type === TYPE.PRELOGIN) return send(socket, preloginResponse());
    if (type === TYPE.LOGIN7) {
      if (options.failLogin)
        return send(socket, Buffer.concat([message(0xaa, 18456, "Login failed for user 'backup'.", 14), done(0x02)]));
      return send(
        socket,
        Buffer.concat([envChange(1, 'master', 'master'), loginAck(), envChange(4, '4096', '4096'), done(0)]),
      );
    }
    if (type === TYPE.SQL_BATCH) {
      const headers = payload.readUInt32LE(0);
      const sql = payload.subarray(headers).toString('utf16le');
      batches.push(sql);
      const replies = (await options.onBatch?.(sql)) ?? [];
      const tokens: Buffer[] = [];
      let failed = false;
      for (const reply of replies) {
        if (reply.kind === 'pause') {
          send(socket, Buffer.concat(tokens.splice(0)), false);
          await new Promise((resolve) => setTimeout(resolve, reply.ms));
        } else if (reply.kind === 'info') tokens.push(message(0xab, reply.number, reply.message, 0));
        else if (reply.kind === 'error') {
          tokens.push(message(0xaa, reply.number, reply.message, reply.severity ?? 16));
          failed = true;
        } else tokens.push(resultSet(reply.columns, reply.rows));
      }
      tokens.push(
        done(
          failed ? 0x02 : 0x10,
          replies.filter((r) => r.kind === 'rows').reduce((n, r) => n + (r.kind === 'rows' ? r.rows.length : 0), 0),
        ),
      );
      return send(socket, Buffer.concat(tokens));
    }
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    batches,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Splits a reply into TDS packets of at most 4096 bytes; the last ends the message unless more is to come. */
function send(socket: Socket, payload: Buffer, ends = true): void {
  const size = 4096 - 8;
  for (let offset = 0, id = 1; offset < payload.length || offset === 0; offset += size, id++) {
    const part = payload.subarray(offset, offset + size);
    const header = Buffer.alloc(8);
    header.writeUInt8(TYPE.REPLY, 0);
    header.writeUInt8(ends && offset + size >= payload.length ? 0x01 : 0x00, 1);
    header.writeUInt16BE(part.length + 8, 2);
    header.writeUInt8(id % 256, 6);
    socket.write(Buffer.concat([header, part]));
    if (payload.length === 0) break;
  }
}

function preloginResponse(): Buffer {
  // VERSION, ENCRYPTION (not supported), INSTOPT, THREADID, MARS, terminator; then the data.
  const options = [
    [0x00, Buffer.from([16, 0, 0x07, 0xd0, 0, 0])],
    [0x01, Buffer.from([0x02])],
    [0x02, Buffer.from([0x00])],
    [0x03, Buffer.alloc(4)],
    [0x04, Buffer.from([0x00])],
  ] as const;
  const headerLength = options.length * 5 + 1;
  const header = Buffer.alloc(headerLength);
  let offset = headerLength;
  options.forEach(([token, data], i) => {
    header.writeUInt8(token, i * 5);
    header.writeUInt16BE(offset, i * 5 + 1);
    header.writeUInt16BE(data.length, i * 5 + 3);
    offset += data.length;
  });
  header.writeUInt8(0xff, headerLength - 1);
  return Buffer.concat([header, ...options.map(([, data]) => data)]);
}

const bVarchar = (text: string) => Buffer.concat([Buffer.from([text.length]), Buffer.from(text, 'utf16le')]);
const usVarchar = (text: string) => {
  const length = Buffer.alloc(2);
  length.writeUInt16LE(text.length);
  return Buffer.concat([length, Buffer.from(text, 'utf16le')]);
};

function withLength(token: number, body: Buffer): Buffer {
  const head = Buffer.alloc(3);
  head.writeUInt8(token, 0);
  head.writeUInt16LE(body.length, 1);
  return Buffer.concat([head, body]);
}

function envChange(type: number, value: string, old: string): Buffer {
  return withLength(0xe3, Buffer.concat([Buffer.from([type]), bVarchar(value), bVarchar(old)]));
}

function loginAck(): Buffer {
  const tdsVersion = Buffer.from([0x74, 0x00, 0x00, 0x04]);
  return withLength(
    0xad,
    Buffer.concat([
      Buffer.from([0x01]),
      tdsVersion,
      bVarchar('Microsoft SQL Server'),
      Buffer.from([16, 0, 0x07, 0xd0]),
    ]),
  );
}

function message(token: 0xaa | 0xab, number: number, text: string, severity: number): Buffer {
  const head = Buffer.alloc(6);
  head.writeInt32LE(number, 0);
  head.writeUInt8(1, 4);
  head.writeUInt8(severity, 5);
  const line = Buffer.alloc(4);
  line.writeInt32LE(1);
  return withLength(token, Buffer.concat([head, usVarchar(text), bVarchar('tds-test'), bVarchar(''), line]));
}

function done(status: number, rows = 0): Buffer {
  const body = Buffer.alloc(13);
  body.writeUInt8(0xfd, 0);
  body.writeUInt16LE(status, 1);
  body.writeUInt16LE(0xc1, 3);
  body.writeBigUInt64LE(BigInt(rows), 5);
  return body;
}

function resultSet(columns: { name: string; type: 'int' | 'nvarchar' }[], rows: (number | string)[][]): Buffer {
  const count = Buffer.alloc(3);
  count.writeUInt8(0x81, 0);
  count.writeUInt16LE(columns.length, 1);
  const metadata = columns.map((c) => {
    const head = Buffer.alloc(6); // user type (4), flags (2): nullable
    head.writeUInt16LE(0x01, 4);
    const type =
      c.type === 'int'
        ? Buffer.from([0x38])
        : Buffer.concat([Buffer.from([0xe7, 0x40, 0x1f]), Buffer.from([0x09, 0x04, 0xd0, 0x00, 0x34])]);
    return Buffer.concat([head, type, bVarchar(c.name)]);
  });
  const rowTokens = rows.map((row) =>
    Buffer.concat([
      Buffer.from([0xd1]),
      ...row.map((value, i) => {
        if (columns[i]!.type === 'int') {
          const b = Buffer.alloc(4);
          b.writeInt32LE(Number(value));
          return b;
        }
        const text = Buffer.from(String(value), 'utf16le');
        const length = Buffer.alloc(2);
        length.writeUInt16LE(text.length);
        return Buffer.concat([length, text]);
      }),
    ]),
  );
  return Buffer.concat([count, ...metadata, ...rowTokens]);
}
