/**
 * A local server that speaks the parts of Dropbox's HTTP API a Dropbox destination uses, as
 * Dropbox documents them: the OAuth token endpoint (refresh_token grant), upload sessions
 * (start, append_v2, finish) and files/upload, get_metadata, download, list_folder (+ continue,
 * in pages), delete_v2. Errors come in Dropbox's shapes: 409 with an error_summary and a tagged
 * error (path/not_found, path/conflict/file, incorrect_offset with correct_offset,
 * lookup_failed/not_found for an expired session), 401 for a bad token, 400 invalid_grant at the
 * token endpoint, 429 with Retry-After. Paths are case-insensitive, as Dropbox's are.
 *
 * Faults the tests arm: throttle (the next N requests get 429 with Retry-After), failAppends (the
 * next N append_v2 requests get a 500), dropNextAppendResponse (an append is carried out but its
 * connection is cut before the answer), expireSessions (every open session is forgotten), expireNextSession, and
 * expireTokens (every access token given so far gets 401 expired_access_token).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { contentHash } from '../../src/storage/dropbox/content-hash.ts';

export const DROPBOX_APP = { key: 'test-app-key', secret: 'test-app-secret', refreshToken: 'test-refresh-token' };

interface StoredFile {
  display: string;
  bytes: Buffer;
  id: string;
}

interface Session {
  chunks: Buffer[];
  offset: number;
}

export interface DropboxTestServer {
  endpoint: string;
  /** Files by their path as displayed. */
  files(): string[];
  read(path: string): Buffer | undefined;
  /** Upload sessions started and not finished (they expire by themselves on Dropbox). */
  openSessions(): number;
  /** Requests so far, by endpoint path ("/2/files/upload_session/append_v2"). */
  requests(path: string): number;
  tokenRefreshes(): number;
  throttle(count: number, retryAfterSeconds: number): void;
  failAppends(count: number): void;
  dropNextAppendResponse(): void;
  expireSessions(): void;
  /** The next session started expires as soon as its first chunk is in (before the next request). */
  expireNextSession(): void;
  expireTokens(): void;
  stop(): Promise<void>;
}

const PAGE = 500;

export async function startDropboxServer(): Promise<DropboxTestServer> {
  const files = new Map<string, StoredFile>();
  const sessions = new Map<string, Session>();
  const tokens = new Map<string, 'valid' | 'expired'>();
  const counts = new Map<string, number>();
  const cursors = new Map<string, { entries: unknown[]; at: number }>();
  let refreshes = 0;
  let throttled = { count: 0, retryAfter: 1 };
  let failingAppends = 0;
  let dropAppend = false;
  let expireNext = false;

  function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, {
      'Content-Type': typeof body === 'string' ? 'text/plain' : 'application/json',
      ...headers,
    });
    res.end(text);
  }

  /** A 409 the way Dropbox shapes an endpoint's error. */
  function conflict(res: ServerResponse, summary: string, error: unknown): void {
    send(res, 409, { error_summary: `${summary}/..`, error });
  }

  function metadataOf(file: StoredFile): Record<string, unknown> {
    return {
      '.tag': 'file',
      name: file.display.split('/').pop(),
      id: file.id,
      path_display: file.display,
      path_lower: file.display.toLowerCase(),
      size: file.bytes.length,
      content_hash: contentHash(file.bytes),
      rev: file.id.slice(3),
      server_modified: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      client_modified: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      is_downloadable: true,
    };
  }

  /** Stores the file unless the path is taken (mode add, autorename false): then a conflict. */
  function commit(
    res: ServerResponse,
    commitInfo: { path: string; mode?: { '.tag': string } | string },
    bytes: Buffer,
    expectedHash: string | undefined,
    errorTag: (reason: unknown) => unknown,
    summaryRoot: string,
  ): void {
    if (expectedHash && expectedHash !== contentHash(bytes)) {
      conflict(res, 'content_hash_mismatch', { '.tag': 'content_hash_mismatch' });
      return;
    }
    const lower = commitInfo.path.toLowerCase();
    if (files.has(lower)) {
      conflict(res, `${summaryRoot}/conflict/file`, errorTag({ '.tag': 'conflict', conflict: { '.tag': 'file' } }));
      return;
    }
    const file = { display: commitInfo.path, bytes, id: `id:${randomBytes(8).toString('hex')}` };
    files.set(lower, file);
    send(res, 200, metadataOf(file));
  }

  function listEntries(path: string): unknown[] | undefined {
    const lower = path.toLowerCase();
    const under = [...files.values()].filter((f) => lower === '' || f.display.toLowerCase().startsWith(`${lower}/`));
    if (lower !== '' && under.length === 0) return undefined;
    const folders = new Set<string>();
    for (const f of under) {
      const parts = f.display.split('/');
      for (let i = 2; i < parts.length; i++) folders.add(parts.slice(0, i).join('/'));
    }
    return [
      ...[...folders]
        .filter((d) => d.toLowerCase().startsWith(lower) && d.toLowerCase() !== lower)
        .map((d) => ({ '.tag': 'folder', name: d.split('/').pop(), path_display: d, path_lower: d.toLowerCase() })),
      ...under.map(metadataOf),
    ];
  }

  function page(res: ServerResponse, entries: unknown[], at: number): void {
    const cursor = randomBytes(8).toString('hex');
    const slice = entries.slice(at, at + PAGE);
    const more = at + PAGE < entries.length;
    if (more) cursors.set(cursor, { entries, at: at + PAGE });
    send(res, 200, { entries: slice, cursor, has_more: more });
  }

  async function handle(req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    counts.set(url.pathname, (counts.get(url.pathname) ?? 0) + 1);
    if (url.pathname === '/oauth2/token') {
      const q = url.searchParams;
      if (
        q.get('grant_type') !== 'refresh_token' ||
        q.get('client_id') !== DROPBOX_APP.key ||
        q.get('client_secret') !== DROPBOX_APP.secret ||
        q.get('refresh_token') !== DROPBOX_APP.refreshToken
      ) {
        send(res, 400, { error: 'invalid_grant', error_description: 'refresh token is malformed' });
        return;
      }
      refreshes++;
      const token = `sl.${randomBytes(12).toString('hex')}`;
      tokens.set(token, 'valid');
      send(res, 200, { access_token: token, token_type: 'bearer', expires_in: 14400 });
      return;
    }
    if (throttled.count > 0) {
      throttled.count--;
      send(
        res,
        429,
        {
          error_summary: 'too_many_requests/..',
          error: { reason: { '.tag': 'too_many_requests' }, retry_after: throttled.retryAfter },
        },
        { 'Retry-After': String(throttled.retryAfter) },
      );
      return;
    }
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const state = token ? tokens.get(token) : undefined;
    if (state !== 'valid') {
      const tag = state === 'expired' ? 'expired_access_token' : 'invalid_access_token';
      send(res, 401, { error_summary: `${tag}/..`, error: { '.tag': tag } });
      return;
    }
    const headerArg = req.headers['dropbox-api-arg'];
    const arg = (headerArg ? JSON.parse(String(headerArg)) : body.length ? JSON.parse(body.toString()) : {}) as Record<
      string,
      any
    >;
    switch (url.pathname) {
      case '/2/files/upload_session/start': {
        const id = `sess-${randomBytes(8).toString('hex')}`;
        if (expireNext) expireNext = false;
        else sessions.set(id, { chunks: [body], offset: body.length });
        send(res, 200, { session_id: id });
        return;
      }
      case '/2/files/upload_session/append_v2': {
        if (failingAppends > 0) {
          failingAppends--;
          send(res, 500, 'Internal Server Error');
          return;
        }
        const session = sessions.get(arg.cursor.session_id);
        if (!session) return conflict(res, 'not_found', { '.tag': 'not_found' });
        if (arg.cursor.offset !== session.offset)
          return conflict(res, 'incorrect_offset', { '.tag': 'incorrect_offset', correct_offset: session.offset });
        session.chunks.push(body);
        session.offset += body.length;
        if (dropAppend) {
          dropAppend = false;
          req.socket.destroy();
          return;
        }
        send(res, 200, null);
        return;
      }
      case '/2/files/upload_session/finish': {
        const session = sessions.get(arg.cursor.session_id);
        const lookup = (reason: unknown) => ({ '.tag': 'path', path: reason });
        if (!session)
          return conflict(res, 'lookup_failed/not_found', {
            '.tag': 'lookup_failed',
            lookup_failed: { '.tag': 'not_found' },
          });
        if (arg.cursor.offset !== session.offset)
          return conflict(res, 'lookup_failed/incorrect_offset', {
            '.tag': 'lookup_failed',
            lookup_failed: { '.tag': 'incorrect_offset', correct_offset: session.offset },
          });
        sessions.delete(arg.cursor.session_id);
        commit(res, arg.commit, Buffer.concat([...session.chunks, body]), arg.content_hash, lookup, 'path');
        return;
      }
      case '/2/files/upload':
        commit(res, arg as never, body, arg.content_hash, (reason) => ({ '.tag': 'path', reason }), 'path');
        return;
      case '/2/files/get_metadata': {
        const file = files.get(String(arg.path).toLowerCase());
        if (!file) return conflict(res, 'path/not_found', { '.tag': 'path', path: { '.tag': 'not_found' } });
        send(res, 200, metadataOf(file));
        return;
      }
      case '/2/files/download': {
        const file = files.get(String(arg.path).toLowerCase());
        if (!file) return conflict(res, 'path/not_found', { '.tag': 'path', path: { '.tag': 'not_found' } });
        res.writeHead(200, {
          'Content-Type': 'application/octet-stream',
          'Dropbox-API-Result': JSON.stringify(metadataOf(file)),
        });
        res.end(file.bytes);
        return;
      }
      case '/2/files/list_folder': {
        const entries = listEntries(String(arg.path));
        if (!entries) return conflict(res, 'path/not_found', { '.tag': 'path', path: { '.tag': 'not_found' } });
        page(res, entries, 0);
        return;
      }
      case '/2/files/list_folder/continue': {
        const at = cursors.get(arg.cursor);
        if (!at) return conflict(res, 'reset', { '.tag': 'reset' });
        cursors.delete(arg.cursor);
        page(res, at.entries, at.at);
        return;
      }
      case '/2/files/delete_v2': {
        const lower = String(arg.path).toLowerCase();
        const file = files.get(lower);
        if (!file)
          return conflict(res, 'path_lookup/not_found', {
            '.tag': 'path_lookup',
            path_lookup: { '.tag': 'not_found' },
          });
        files.delete(lower);
        send(res, 200, { metadata: metadataOf(file) });
        return;
      }
      default:
        send(res, 400, `Error in call to API function "${url.pathname}": Unknown API function`);
    }
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      handle(req, res, Buffer.concat(chunks)).catch((error: Error) => send(res, 500, error.message));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    files: () => [...files.values()].map((f) => f.display).sort(),
    read: (path) => files.get(path.toLowerCase())?.bytes,
    openSessions: () => sessions.size,
    requests: (path) => counts.get(path) ?? 0,
    tokenRefreshes: () => refreshes,
    throttle(count, retryAfterSeconds) {
      throttled = { count, retryAfter: retryAfterSeconds };
    },
    failAppends(count) {
      failingAppends = count;
    },
    dropNextAppendResponse() {
      dropAppend = true;
    },
    expireSessions() {
      sessions.clear();
    },
    expireNextSession() {
      expireNext = true;
    },
    expireTokens() {
      for (const token of tokens.keys()) tokens.set(token, 'expired');
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A Dropbox destination pointed at the test server, its secrets as references to these variables. */
export function dropboxDestination(
  server: DropboxTestServer,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  process.env.STEPVAULT_TEST_DROPBOX_KEY = DROPBOX_APP.key;
  process.env.STEPVAULT_TEST_DROPBOX_SECRET = DROPBOX_APP.secret;
  process.env.STEPVAULT_TEST_DROPBOX_REFRESH = DROPBOX_APP.refreshToken;
  return {
    type: 'dropbox',
    appKey: 'env:STEPVAULT_TEST_DROPBOX_KEY',
    appSecret: 'env:STEPVAULT_TEST_DROPBOX_SECRET',
    refreshToken: 'env:STEPVAULT_TEST_DROPBOX_REFRESH',
    endpoint: server.endpoint,
    chunkSizeMB: 4,
    ...extra,
  };
}
