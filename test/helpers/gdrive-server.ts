/**
 * A local server that speaks the parts of Google's HTTP APIs a Drive destination uses, as Google
 * documents them: the OAuth token endpoint (a service account's signed JWT, checked against its
 * public key, or a refresh token), Drive v3 files.list (with the query terms used: name,
 * mimeType, parents, trashed; paged), files.create for folders, files.get (and alt=media),
 * files.delete, and resumable uploads (a session from POST, chunks by PUT with Content-Range,
 * 308 with Range while incomplete, chunks that are not multiples of 256 KiB refused, a status
 * query answered). Errors come in Google's JSON shape; 429 with Retry-After.
 *
 * Faults the tests arm: throttle (429 for the next N Drive requests), failChunks (503 for the next
 * N chunks), dropNextChunkResponse (a chunk is kept but its connection cut before the answer),
 * expireNextSession (the next session is gone after its first chunk: 404 afterwards), and
 * withoutSha256 (files reported with an MD5 only, as Drive does for some).
 */
import { createHash, createVerify, generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export const GDRIVE_OAUTH = {
  clientId: 'test-client.apps.googleusercontent.com',
  clientSecret: 'test-secret',
  refreshToken: '1//test-refresh',
};
const FOLDER = 'application/vnd.google-apps.folder';
const QUANTUM = 256 * 1024;
const PAGE = 400;

interface DriveItem {
  id: string;
  name: string;
  mimeType: string;
  parents: string[];
  appProperties: Record<string, string>;
  createdTime: string;
  bytes?: Buffer;
}

interface Session {
  meta: { name: string; parents: string[]; mimeType?: string; appProperties?: Record<string, string> };
  chunks: Buffer[];
  received: number;
  expireAfterFirst: boolean;
}

export interface GdriveTestServer {
  endpoint: string;
  /** A service account key (JSON text) the server accepts. */
  serviceAccountKey: string;
  /** A folder made at the start to hold a destination (its id). */
  addFolder(name: string): string;
  /** The paths of the files under a folder, by name, folders included only through their files. */
  paths(folderId: string): string[];
  file(folderId: string, path: string): DriveItem | undefined;
  requests(what: string): number;
  throttle(count: number, retryAfterSeconds: number): void;
  failChunks(count: number): void;
  dropNextChunkResponse(): void;
  expireNextSession(): void;
  withoutSha256(on: boolean): void;
  stop(): Promise<void>;
}

export async function startGdriveServer(): Promise<GdriveTestServer> {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const clientEmail = 'stepvault@test-project.iam.gserviceaccount.com';
  const items = new Map<string, DriveItem>();
  const sessions = new Map<string, Session>();
  const tokens = new Set<string>();
  const counts = new Map<string, number>();
  let created = 0;
  let throttled = { count: 0, retryAfter: 1 };
  let failingChunks = 0;
  let dropChunk = false;
  let expireNext = false;
  let noSha = false;
  let endpoint = '';

  const count = (what: string) => counts.set(what, (counts.get(what) ?? 0) + 1);
  const newId = () => randomBytes(12).toString('base64url');

  function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    res.writeHead(status, { 'Content-Type': 'application/json; charset=UTF-8', ...headers });
    res.end(JSON.stringify(body));
  }

  function error(
    res: ServerResponse,
    status: number,
    reason: string,
    message: string,
    headers: Record<string, string> = {},
  ): void {
    json(res, status, { error: { code: status, message, errors: [{ domain: 'global', reason, message }] } }, headers);
  }

  function resource(item: DriveItem): Record<string, unknown> {
    return {
      kind: 'drive#file',
      id: item.id,
      name: item.name,
      mimeType: item.mimeType,
      parents: item.parents,
      createdTime: item.createdTime,
      appProperties: item.appProperties,
      ...(item.bytes && {
        size: String(item.bytes.length),
        md5Checksum: createHash('md5').update(item.bytes).digest('hex'),
        ...(!noSha && { sha256Checksum: createHash('sha256').update(item.bytes).digest('hex') }),
      }),
    };
  }

  function make(meta: Session['meta'], bytes: Buffer | undefined, mimeType: string): DriveItem {
    const item: DriveItem = {
      id: newId(),
      name: meta.name,
      mimeType,
      parents: meta.parents ?? [],
      appProperties: meta.appProperties ?? {},
      // Distinct and ordered, as Drive's own are to the millisecond.
      createdTime: new Date(Date.UTC(2026, 0, 1) + ++created).toISOString(),
      ...(bytes && { bytes }),
    };
    items.set(item.id, item);
    return item;
  }

  /** Drive's query language, the terms used here: joined by "and". */
  function matcher(q: string): (item: DriveItem) => boolean {
    const terms =
      q.match(/(?:'(?:\\.|[^'\\])*'|[^'])+?(?=\s+and\s+|$)/g)?.map((t) => t.replace(/^\s*and\s+/, '').trim()) ?? [];
    const unquote = (s: string) => s.slice(1, -1).replace(/\\(.)/g, '$1');
    const tests = terms.filter(Boolean).map((term) => {
      let m = /^('(?:\\.|[^'\\])*') in parents$/.exec(term);
      if (m) return (i: DriveItem) => i.parents.includes(unquote(m![1]!));
      if (term === 'trashed = false') return () => true;
      m = /^(name|mimeType) (=|!=) ('(?:\\.|[^'\\])*')$/.exec(term);
      if (m) {
        const [, field, op, value] = m;
        return (i: DriveItem) => (i[field as 'name' | 'mimeType'] === unquote(value!)) === (op === '=');
      }
      throw new Error(`Invalid Value: unsupported query term ${term}`);
    });
    return (item) => tests.every((t) => t(item));
  }

  function checkToken(req: IncomingMessage, res: ServerResponse): boolean {
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (token && tokens.has(token)) return true;
    error(res, 401, 'authError', 'Request had invalid authentication credentials.');
    return false;
  }

  function tokenGrant(res: ServerResponse, form: URLSearchParams): void {
    count('token');
    const grant = form.get('grant_type');
    let ok = false;
    if (grant === 'refresh_token') {
      ok =
        form.get('client_id') === GDRIVE_OAUTH.clientId &&
        form.get('client_secret') === GDRIVE_OAUTH.clientSecret &&
        form.get('refresh_token') === GDRIVE_OAUTH.refreshToken;
    } else if (grant === 'urn:ietf:params:oauth:grant-type:jwt-bearer') {
      const [head, claims, signature] = (form.get('assertion') ?? '').split('.');
      if (head && claims && signature) {
        const verify = createVerify('RSA-SHA256').update(`${head}.${claims}`);
        const payload = JSON.parse(Buffer.from(claims, 'base64url').toString()) as { iss?: string };
        ok = verify.verify(publicKey, Buffer.from(signature, 'base64url')) && payload.iss === clientEmail;
      }
    }
    if (!ok) {
      json(res, 400, { error: 'invalid_grant', error_description: 'Invalid grant: account not found' });
      return;
    }
    const token = `ya29.${randomBytes(12).toString('hex')}`;
    tokens.add(token);
    json(res, 200, { access_token: token, expires_in: 3599, token_type: 'Bearer' });
  }

  function upload(req: IncomingMessage, res: ServerResponse, url: URL, body: Buffer): unknown {
    const id = url.searchParams.get('upload_id');
    if (req.method === 'POST') {
      if (!checkToken(req, res)) return;
      count('upload-start');
      const meta = JSON.parse(body.toString() || '{}') as Session['meta'];
      const sessionId = newId();
      sessions.set(sessionId, { meta, chunks: [], received: 0, expireAfterFirst: expireNext });
      expireNext = false;
      res.writeHead(200, { Location: `${endpoint}/upload/drive/v3/files?uploadType=resumable&upload_id=${sessionId}` });
      res.end();
      return;
    }
    const session = id ? sessions.get(id) : undefined;
    if (!session) return error(res, 404, 'notFound', 'Upload session not found or expired.');
    const range = /^bytes (?:(\d+)-(\d+)|\*)\/(\d+|\*)$/.exec(String(req.headers['content-range'] ?? ''));
    if (!range) return error(res, 400, 'badContent', 'Invalid Content-Range.');
    const incomplete = (): unknown =>
      res.writeHead(308, session.received > 0 ? { Range: `bytes=0-${session.received - 1}` } : {}).end();
    const total = range[3] === '*' ? undefined : Number(range[3]);
    if (range[1] === undefined) {
      // A status query, or an empty last piece.
      if (total === undefined || total !== session.received) return incomplete();
    } else {
      count('chunk');
      if (failingChunks > 0) {
        failingChunks--;
        return error(res, 503, 'backendError', 'Backend Error');
      }
      const start = Number(range[1]);
      if (start !== session.received) return incomplete();
      if (total === undefined && body.length % QUANTUM !== 0)
        return error(
          res,
          400,
          'badContent',
          'Invalid request. The number of bytes uploaded is required to be a multiple of 256 KiB, except for the last chunk.',
        );
      session.chunks.push(body);
      session.received += body.length;
      if (session.expireAfterFirst && id) sessions.delete(id);
      if (total === undefined || session.received < total) {
        if (dropChunk) {
          dropChunk = false;
          req.socket.destroy();
          return;
        }
        return incomplete();
      }
    }
    if (id) sessions.delete(id);
    const item = make(session.meta, Buffer.concat(session.chunks), session.meta.mimeType ?? 'application/octet-stream');
    json(res, 200, resource(item));
  }

  function drive(req: IncomingMessage, res: ServerResponse, url: URL, body: Buffer): unknown {
    if (!checkToken(req, res)) return;
    const path = url.pathname.replace(/^\/drive\/v3\/files\/?/, '');
    if (path === '' && req.method === 'GET') {
      count('list');
      let match: (item: DriveItem) => boolean;
      try {
        match = matcher(url.searchParams.get('q') ?? '');
      } catch (e) {
        return error(res, 400, 'invalid', (e as Error).message);
      }
      const all = [...items.values()].filter(match).sort((a, b) => a.id.localeCompare(b.id));
      const at = Number(url.searchParams.get('pageToken') ?? 0);
      const size = Math.min(Number(url.searchParams.get('pageSize') ?? 100), PAGE);
      const page = all.slice(at, at + size);
      return json(res, 200, {
        kind: 'drive#fileList',
        files: page.map(resource),
        ...(at + size < all.length && { nextPageToken: String(at + size) }),
      });
    }
    if (path === '' && req.method === 'POST') {
      count('create');
      const meta = JSON.parse(body.toString()) as Session['meta'];
      for (const parent of meta.parents ?? [])
        if (!items.has(parent)) return error(res, 404, 'notFound', `File not found: ${parent}.`);
      return json(res, 200, resource(make(meta, undefined, (meta.mimeType as string) ?? FOLDER)));
    }
    const item = items.get(decodeURIComponent(path));
    if (!item) return error(res, 404, 'notFound', `File not found: ${path}.`);
    if (req.method === 'DELETE') {
      count('delete');
      items.delete(item.id);
      res.writeHead(204);
      res.end();
      return;
    }
    if (url.searchParams.get('alt') === 'media') {
      count('download');
      res.writeHead(200, { 'Content-Type': item.mimeType });
      res.end(item.bytes ?? Buffer.alloc(0));
      return;
    }
    json(res, 200, resource(item));
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', (): unknown => {
      const body = Buffer.concat(chunks);
      const url = new URL(req.url ?? '/', 'http://x');
      try {
        if (url.pathname === '/token') return tokenGrant(res, new URLSearchParams(body.toString()));
        if (throttled.count > 0) {
          throttled.count--;
          return error(res, 429, 'rateLimitExceeded', 'Rate Limit Exceeded', {
            'Retry-After': String(throttled.retryAfter),
          });
        }
        if (url.pathname.startsWith('/upload/drive/v3/files')) return upload(req, res, url, body);
        if (url.pathname.startsWith('/drive/v3/files')) return drive(req, res, url, body);
        error(res, 404, 'notFound', `Not Found: ${url.pathname}`);
      } catch (e) {
        error(res, 500, 'backendError', (e as Error).message);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  function pathOf(item: DriveItem, root: string): string | undefined {
    const names = [item.name];
    let parent = item.parents[0];
    while (parent && parent !== root) {
      const up = items.get(parent);
      if (!up) return undefined;
      names.unshift(up.name);
      parent = up.parents[0];
    }
    return parent === root ? names.join('/') : undefined;
  }

  return {
    endpoint,
    serviceAccountKey: JSON.stringify({
      type: 'service_account',
      project_id: 'test-project',
      private_key_id: 'k1',
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      client_email: clientEmail,
      token_uri: 'https://oauth2.googleapis.com/token',
    }),
    addFolder: (name) => make({ name, parents: [] }, undefined, FOLDER).id,
    paths: (root) =>
      [...items.values()]
        .filter((i) => i.mimeType !== FOLDER)
        .map((i) => pathOf(i, root))
        .filter((p): p is string => p !== undefined)
        .sort(),
    file: (root, path) => [...items.values()].find((i) => i.mimeType !== FOLDER && pathOf(i, root) === path),
    requests: (what) => counts.get(what) ?? 0,
    throttle(n, retryAfter) {
      throttled = { count: n, retryAfter };
    },
    failChunks(n) {
      failingChunks = n;
    },
    dropNextChunkResponse() {
      dropChunk = true;
    },
    expireNextSession() {
      expireNext = true;
    },
    withoutSha256(on) {
      noSha = on;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A Drive destination on the test server, its key given as a secret reference to a variable. */
export function gdriveDestination(
  server: GdriveTestServer,
  folderId: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  process.env.STEPVAULT_TEST_GDRIVE_KEY = server.serviceAccountKey;
  return {
    type: 'gdrive',
    folderId,
    serviceAccountKey: 'env:STEPVAULT_TEST_GDRIVE_KEY',
    endpoint: server.endpoint,
    chunkSizeMB: 4,
    ...extra,
  };
}

/** The same with an OAuth client and refresh token instead of a service account. */
export function gdriveOAuthDestination(
  server: GdriveTestServer,
  folderId: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  process.env.STEPVAULT_TEST_GDRIVE_CLIENT_ID = GDRIVE_OAUTH.clientId;
  process.env.STEPVAULT_TEST_GDRIVE_CLIENT_SECRET = GDRIVE_OAUTH.clientSecret;
  process.env.STEPVAULT_TEST_GDRIVE_REFRESH = GDRIVE_OAUTH.refreshToken;
  return {
    type: 'gdrive',
    folderId,
    clientId: 'env:STEPVAULT_TEST_GDRIVE_CLIENT_ID',
    clientSecret: 'env:STEPVAULT_TEST_GDRIVE_CLIENT_SECRET',
    refreshToken: 'env:STEPVAULT_TEST_GDRIVE_REFRESH',
    endpoint: server.endpoint,
    chunkSizeMB: 4,
    ...extra,
  };
}
