/**
 * TLS as the dump will ask for it: the engine's own way of starting TLS on its port (PostgreSQL's
 * SSLRequest, MySQL's SSL request packet), then a real handshake, with the certificate verified
 * against tls.ca (or the system's CAs) when the mode says verify-ca, and its name too with
 * verify-full. Done before any login, so a TLS problem is never mistaken for a wrong password.
 */
import { readFile } from 'node:fs/promises';
import { isIP, Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import type { ConnectedTarget } from '../config/load.ts';
import { SQL_SERVER_SKIP } from './login.ts';
import type { Check } from './types.ts';
import { fail, ok, skip } from './types.ts';

/** What the server said to a request for TLS, before any handshake. */
type Offer = { offered: false } | { offered: true; socket: Socket };

export const tlsCheck: Check = {
  id: 'tls',
  name: 'tls',
  needs: ['tcp'],
  async run({ facts, timeoutMs }) {
    const target = facts.connection!.target;
    const { mode } = target.tls;
    if (target.engine === 'mssql') return [skip('tls', SQL_SERVER_SKIP)];
    if (mode === 'disable') return [ok('tls', 'tls.mode disable: the connection is plain text, as configured')];
    const socket = await openSocket(target.host, target.port, timeoutMs);
    let offer: Offer;
    try {
      offer = target.engine === 'postgres' ? await askPostgres(socket, timeoutMs) : await askMysql(socket, timeoutMs);
    } catch (error) {
      socket.destroy();
      throw error;
    }
    if (!offer.offered) {
      socket.destroy();
      return mode === 'prefer'
        ? [ok('tls', 'the server offers no TLS; tls.mode prefer connects in plain text')]
        : [
            fail(
              'tls',
              `the server at ${target.host}:${target.port} offers no TLS, and tls.mode is ${mode}`,
              `enable TLS on the server, or lower targets.${target.name}.tls.mode to prefer`,
            ),
          ];
    }
    try {
      const protocol = await handshake(offer.socket, target, timeoutMs);
      const verified =
        mode === 'verify-full'
          ? 'certificate and host name verified'
          : mode === 'verify-ca'
            ? 'certificate verified'
            : `certificate not verified (tls.mode ${mode})`;
      return [ok('tls', `${protocol} handshake; ${verified}`)];
    } catch (error) {
      return [
        fail(
          'tls',
          `the TLS handshake with ${target.host}:${target.port} failed: ${withoutNodeHint((error as Error).message)}`,
          target.tls.ca
            ? `check that targets.${target.name}.tls.ca holds the CA that signed the server's certificate`
            : `set targets.${target.name}.tls.ca to the CA bundle that signed the server's certificate (e.g. the RDS bundle)`,
        ),
      ];
    } finally {
      offer.socket.destroy();
    }
  },
};

function openSocket(host: string, port: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = new Socket();
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)));
    socket.once('error', reject);
    socket.connect(port, host, () => {
      socket.off('error', reject);
      resolve(socket);
    });
  });
}

/** Reads until `enough` says how many bytes it needed; leaves the socket paused and unread beyond that. */
function readFromSocket(socket: Socket, enough: (data: Buffer) => number | undefined, timeoutMs: number) {
  return new Promise<Buffer>((resolve, reject) => {
    let data = Buffer.alloc(0);
    const timer = setTimeout(
      () => done(new Error(`the server did not answer within ${timeoutMs / 1000} s`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      const needed = enough(data);
      if (needed !== undefined && data.length >= needed) done(undefined, data);
    };
    const onEnd = () => done(new Error('the server closed the connection'));
    const done = (error?: Error, result?: Buffer) => {
      clearTimeout(timer);
      socket.off('data', onData).off('end', onEnd).off('error', done);
      socket.pause();
      if (error) reject(error);
      else resolve(result!);
    };
    socket.on('data', onData).once('end', onEnd).once('error', done);
    socket.resume();
  });
}

/** PostgreSQL's SSLRequest: 8 bytes, answered by one byte, S (go ahead) or N. */
async function askPostgres(socket: Socket, timeoutMs: number): Promise<Offer> {
  const request = Buffer.alloc(8);
  request.writeInt32BE(8, 0);
  request.writeInt32BE(80877103, 4);
  socket.write(request);
  const answer = await readFromSocket(socket, () => 1, timeoutMs);
  return answer[0] === 0x53 ? { offered: true, socket } : { offered: false };
}

const CLIENT_LONG_PASSWORD = 0x1;
const CLIENT_PROTOCOL_41 = 0x200;
const CLIENT_SSL = 0x800;
const CLIENT_SECURE_CONNECTION = 0x8000;

/**
 * MySQL's greeting says whether the server can do TLS (CLIENT_SSL among its capabilities); the
 * client then sends an SSL request packet, and the handshake follows on the same connection.
 */
async function askMysql(socket: Socket, timeoutMs: number): Promise<Offer> {
  const greeting = await readFromSocket(socket, (d) => (d.length >= 4 ? 4 + d.readUIntLE(0, 3) : undefined), timeoutMs);
  const payload = greeting.subarray(4);
  if (payload[0] === 0xff) throw new Error(`the server refused the connection: ${payload.subarray(3).toString()}`);
  // protocol version, server version (NUL-terminated), connection id (4), auth data (8), filler (1), capabilities.
  const afterVersion = payload.indexOf(0, 1) + 1;
  const capabilities = payload.readUInt16LE(afterVersion + 4 + 8 + 1);
  if ((capabilities & CLIENT_SSL) === 0) return { offered: false };
  const request = Buffer.alloc(4 + 32);
  request.writeUIntLE(32, 0, 3);
  request[3] = 1;
  request.writeUInt32LE(CLIENT_LONG_PASSWORD | CLIENT_PROTOCOL_41 | CLIENT_SSL | CLIENT_SECURE_CONNECTION, 4);
  request.writeUInt32LE(16 * 1024 * 1024, 8);
  request[12] = 45; // utf8mb4
  socket.write(request);
  return { offered: true, socket };
}

async function handshake(socket: Socket, target: ConnectedTarget, timeoutMs: number): Promise<string> {
  const { mode, ca } = target.tls;
  const verify = mode === 'verify-ca' || mode === 'verify-full';
  const options: ConnectionOptions = {
    socket,
    rejectUnauthorized: verify,
    ...(ca !== undefined && { ca: await readFile(ca) }),
    ...(!isIP(target.host) && { servername: target.host }),
    // verify-ca trusts any name on a certificate the CA signed; verify-full checks it.
    ...(mode !== 'verify-full' && { checkServerIdentity: () => undefined }),
  };
  return new Promise((resolve, reject) => {
    const secure = tlsConnect(options, () => {
      const protocol = secure.getProtocol() ?? 'TLS';
      secure.destroy();
      resolve(protocol);
    });
    secure.setTimeout(timeoutMs, () => secure.destroy(new Error(`no handshake within ${timeoutMs / 1000} s`)));
    secure.once('error', reject);
  });
}

/** Node's advice to restart Node with --use-system-ca is not the user's to follow: tls.ca is. */
function withoutNodeHint(message: string): string {
  return message.replace(/; if the root CA is installed locally.*$/s, '');
}
