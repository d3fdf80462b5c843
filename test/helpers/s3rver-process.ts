/**
 * An S3 server for the tests, in its own process: s3rver (the real S3 REST API over HTTP, with a
 * folder for storage), plus the two S3 operations it lacks — ListMultipartUploads and
 * AbortMultipartUpload — so that "no open multipart upload is left" can be checked through the
 * S3 API itself; conditional writes as S3 does them (`If-None-Match: *` on PutObject and
 * CompleteMultipartUpload answers 412 PreconditionFailed when the key exists, checked and written
 * under a per-key lock so two racing writers cannot both pass); a switch that makes every part of
 * the next N multipart uploads fail with a 500, as a server in trouble would (a retry, with a new
 * upload id, then succeeds), and one that makes the next N object listings fail.
 * It can also crash (SIGKILL itself) right after storing the Nth next part, before answering,
 * and hold requests: every part upload, or every manifest write, into a bucket gets no answer
 * until its client goes away (an upload stalled exactly where a test wants it).
 * It also does UploadPartCopy (which s3rver lacks) and counts copies (CopyObject, UploadPartCopy) and object
 * reads (GetObject) per bucket, so a test can tell a copy the server made from one that went through the client.
 * Run as: node --openssl-legacy-provider s3rver-process.ts <dir> <port> <bucket>...
 * (port 0: any free one; s3rver's continuation tokens use DES, which OpenSSL 3 keeps in its legacy
 * provider). It prints "listening <port>" when ready.
 */
import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import S3rver from 's3rver';

const [directory, port = '0', ...buckets] = process.argv.slice(2);
if (!directory) throw new Error('usage: s3rver-process.ts <dir> <port> <bucket>...');

const server = new S3rver({
  port: Number(port),
  address: '127.0.0.1',
  silent: true,
  directory,
  configureBuckets: buckets.map((name) => ({ name, configs: [] })),
});

/** How many of the next multipart uploads to sabotage, and the ones being sabotaged. */
let uploadsToFail = 0;
const doomed = new Set<string>();
let partsStored = 0;
/** Parts still to store before the process kills itself (0: never). */
let crashAfterParts = 0;
/** Object writes (PutObject, CompleteMultipartUpload) per bucket, with and without If-None-Match: *. */
const objectWrites: Record<string, { conditional: number; unconditional: number }> = {};
/** Copies into a bucket (CopyObject, UploadPartCopy) and object reads (GetObject) from it. */
const copies: Record<string, { objects: number; parts: number }> = {};
const objectReads: Record<string, number> = {};
let listsToFail = 0;
/** Buckets whose part uploads / manifest writes are held, and how many requests are held so far. */
const holdParts = new Set<string>();
const holdManifests = new Set<string>();
let held = 0;
const uploadsDir = (bucket: string) => path.join(directory, bucket, '._S3rver_uploads');

/** Conditional writes of one key, one at a time: the check and the write are one step. */
const keyLocks = new Map<string, Promise<void>>();
async function underKeyLock(key: string, work: () => Promise<void>): Promise<void> {
  const before = keyLocks.get(key) ?? Promise.resolve();
  const done = before.then(work, work);
  const settled = done.catch(() => undefined);
  keyLocks.set(key, settled);
  await done;
  if (keyLocks.get(key) === settled) keyLocks.delete(key);
}

interface Context {
  method: string;
  path: string;
  get(header: string): string;
  query: Record<string, string | undefined>;
  status: number;
  body: unknown;
  type: string;
}

interface Store {
  existsObject(bucket: string, key: string): Promise<boolean>;
  getObject(
    bucket: string,
    key: string,
    range: { start: number; end: number },
  ): Promise<{ content: NodeJS.ReadableStream } | null>;
  putPart(
    bucket: string,
    uploadId: string,
    partNumber: number,
    content: NodeJS.ReadableStream,
  ): Promise<{ md5: string }>;
}

const store = (server as unknown as { store: Store }).store;

/** UploadPartCopy: a range of a stored object becomes a part of a multipart upload. */
async function uploadPartCopy(ctx: Context, bucket: string): Promise<void> {
  const source = decodeURI(ctx.get('x-amz-copy-source')).replace(/^\//, '');
  const [sourceBucket = '', ...sourceKey] = source.split('/');
  const range = /^bytes=(\d+)-(\d+)$/.exec(ctx.get('x-amz-copy-source-range'));
  const object = await store.getObject(sourceBucket, sourceKey.join('/'), {
    start: Number(range?.[1] ?? 0),
    end: range ? Number(range[2]) : Number.POSITIVE_INFINITY,
  });
  ctx.type = 'application/xml';
  if (!object) {
    ctx.status = 404;
    ctx.body =
      '<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message>no source</Message></Error>';
    return;
  }
  const { md5 } = await store.putPart(bucket, ctx.query.uploadId ?? '', Number(ctx.query.partNumber), object.content);
  copies[bucket] ??= { objects: 0, parts: 0 };
  copies[bucket].parts++;
  ctx.body =
    '<?xml version="1.0" encoding="UTF-8"?><CopyPartResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
    `<LastModified>${new Date().toISOString()}</LastModified><ETag>"${md5}"</ETag></CopyPartResult>`;
}

// Koa composes its middleware when it starts listening: this one runs before s3rver's router.
(
  server as unknown as { middleware: ((ctx: Context, next: () => Promise<void>) => Promise<void>)[] }
).middleware.unshift(async (ctx, next) => {
  const [bucket = '', ...keyParts] = ctx.path.split('/').filter(Boolean);
  if (ctx.path === '/_test/stats' && ctx.method === 'GET') {
    ctx.type = 'application/json';
    ctx.body = JSON.stringify({ partsStored, objectWrites, held, copies, objectReads });
    return;
  }
  if (ctx.method === 'PUT' && ctx.query.uploadId && ctx.query.partNumber && ctx.get('x-amz-copy-source')) {
    await uploadPartCopy(ctx, bucket);
    return;
  }
  if (ctx.method === 'PUT' && !ctx.query.uploadId && keyParts.length > 0 && ctx.get('x-amz-copy-source')) {
    copies[bucket] ??= { objects: 0, parts: 0 };
    copies[bucket].objects++;
  }
  if (ctx.method === 'GET' && keyParts.length > 0 && !ctx.query.uploadId && !('tagging' in ctx.query))
    objectReads[bucket] = (objectReads[bucket] ?? 0) + 1;
  if (ctx.path === '/_test/hold' && ctx.method === 'POST') {
    (ctx.query.what === 'manifests' ? holdManifests : holdParts).add(ctx.query.bucket ?? '');
    ctx.status = 204;
    return;
  }
  const isPart = ctx.method === 'PUT' && ctx.query.uploadId && ctx.query.partNumber;
  const isManifest = ctx.method === 'PUT' && !ctx.query.uploadId && ctx.path.endsWith('.manifest.json');
  if ((isPart && holdParts.has(bucket)) || (isManifest && holdManifests.has(bucket))) {
    held++;
    const request = (ctx as unknown as { req: import('node:http').IncomingMessage }).req;
    await new Promise<void>((resolve) => request.socket.once('close', () => resolve()));
    ctx.status = 503;
    return;
  }
  if (ctx.path === '/_test/fail-lists' && ctx.method === 'POST') {
    listsToFail = Number(ctx.query.count ?? 1);
    ctx.status = 204;
    return;
  }
  if (ctx.method === 'GET' && keyParts.length === 0 && ctx.query['list-type'] && listsToFail > 0) {
    listsToFail--;
    ctx.status = 500;
    ctx.type = 'application/xml';
    ctx.body =
      '<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code><Message>injected listing failure</Message></Error>';
    return;
  }
  if (ctx.path === '/_test/fail-uploads' && ctx.method === 'POST') {
    uploadsToFail = Number(ctx.query.count ?? 1);
    ctx.status = 204;
    return;
  }
  const uploadId = ctx.query.uploadId;
  if (ctx.method === 'PUT' && uploadId && ctx.query.partNumber && !doomed.has(uploadId) && uploadsToFail > 0) {
    uploadsToFail--;
    doomed.add(uploadId);
  }
  if (ctx.method === 'PUT' && uploadId && ctx.query.partNumber && doomed.has(uploadId)) {
    ctx.status = 500;
    ctx.type = 'application/xml';
    ctx.body =
      '<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code><Message>injected part failure</Message></Error>';
    return;
  }
  if (ctx.path === '/_test/crash-after-parts' && ctx.method === 'POST') {
    crashAfterParts = Number(ctx.query.count ?? 1);
    ctx.status = 204;
    return;
  }
  if (ctx.method === 'PUT' && uploadId && ctx.query.partNumber) {
    await next();
    if (ctx.status === 200) {
      partsStored++;
      // A crash, not a shutdown: the part is on disk, its answer never leaves.
      if (crashAfterParts > 0 && --crashAfterParts === 0) process.kill(process.pid, 'SIGKILL');
    }
    return;
  }
  const isObjectWrite = (ctx.method === 'PUT' && !uploadId) || (ctx.method === 'POST' && uploadId);
  if (isObjectWrite && keyParts.length > 0) {
    objectWrites[bucket] ??= { conditional: 0, unconditional: 0 };
    const counts = objectWrites[bucket];
    counts[ctx.get('if-none-match') === '*' ? 'conditional' : 'unconditional']++;
  }
  if (isObjectWrite && keyParts.length > 0 && ctx.get('if-none-match') === '*') {
    const key = keyParts.map(decodeURIComponent).join('/');
    await underKeyLock(`${bucket}/${key}`, async () => {
      if (await store.existsObject(bucket, key)) {
        ctx.status = 412;
        ctx.type = 'application/xml';
        ctx.body =
          '<?xml version="1.0" encoding="UTF-8"?><Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message><Condition>If-None-Match</Condition></Error>';
        return;
      }
      await next();
    });
    return;
  }
  if (ctx.method === 'DELETE' && ctx.query.uploadId) {
    await rm(path.join(uploadsDir(bucket), ctx.query.uploadId), { recursive: true, force: true });
    ctx.status = 204;
    return;
  }
  if (ctx.method === 'GET' && keyParts.length === 0 && 'uploads' in ctx.query) {
    const ids = await readdir(uploadsDir(bucket)).catch(() => [] as string[]);
    const uploads = await Promise.all(
      ids.map(async (id) => ({ id, key: await readFile(path.join(uploadsDir(bucket), id, 'key'), 'utf8') })),
    );
    ctx.type = 'application/xml';
    ctx.body =
      '<?xml version="1.0" encoding="UTF-8"?><ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
      `<Bucket>${bucket}</Bucket><IsTruncated>false</IsTruncated>` +
      uploads.map((u) => `<Upload><Key>${u.key}</Key><UploadId>${u.id}</UploadId></Upload>`).join('') +
      '</ListMultipartUploadsResult>';
    return;
  }
  await next();
});

const address = await server.run();
console.log(`listening ${address.port}`);
process.on('SIGTERM', () => server.close().then(() => process.exit(0)));
