/**
 * A run that fails after its dump was stored: the failure mail says where the backup is and
 * which check failed, and never that no backup was made. Through the real state machine, with a
 * restore drill that fails, read back from the outbox.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UploadResult } from '../src/contracts.ts';
import { createDatabase, dropDatabase, PG, psql, uniqueName } from './helpers/postgres.ts';
import { configFor, createWorkspace, type Workspace } from './helpers/workspace.ts';

const database = uniqueName('sv_pg_failmail');
let workspace: Workspace;

beforeAll(async () => {
  await createDatabase(database);
  await psql(database, `CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 1000) g`);
  workspace = await createWorkspace();
});

afterAll(async () => {
  await dropDatabase(database);
  await workspace?.remove();
});

describe('the failure mail of a run whose dump was stored', () => {
  it('a failed restore drill: names every stored location and the failed check, and does not say no backup was made', async () => {
    await workspace.writeConfig(
      configFor(
        {
          engine: 'postgres',
          host: PG.host,
          port: PG.port,
          user: PG.user,
          database,
          destinations: ['local', 'copy'],
          // Nothing listens on port 1: the drill cannot restore anywhere.
          verify: { drill: { into: 'postgres://postgres@127.0.0.1:1/sv_scratch' } },
        },
        {
          destinations: {
            local: { type: 'filesystem', path: './backups', prefix: 'db' },
            copy: { type: 'filesystem', path: './copy' },
          },
        },
      ),
    );
    const record = await workspace.run('main');
    expect(record).toMatchObject({ status: 'FAILED', failedState: 'Verify', error: 'ConnectionError' });
    const upload = record.events.find((e) => e.type === 'state-exited' && e.state === 'Upload');
    const stored = (upload as { output: { upload: UploadResult } }).output.upload.flatMap((o) =>
      o.status === 'stored' ? [o] : [],
    );
    expect(stored.map((o) => o.destination).sort()).toEqual(['copy', 'local']);

    const [mail, ...more] = await workspace.outbox();
    expect(more).toEqual([]);
    expect(mail!.headers.subject).toBe('[stepvault] main: backup stored, but FAILED in Verify (ConnectionError)');
    for (const part of [mail!.body, mail!.html]) {
      expect(part).toContain('Backup of main was stored, but the run FAILED in state Verify.');
      for (const o of stored) expect(part).toContain(`${o.destination}: ${o.location}`);
      expect(part).toContain('the restore drill failed: do not count on it as a good backup until that is resolved');
      expect(part).toContain('cannot reach the drill server 127.0.0.1:1');
      expect(part).toContain('Retention was not applied: no older backup was deleted.');
      expect(part).not.toMatch(/did not complete a backup|no backup was/i);
    }
    expect(mail!.body).toContain('Failed in: Verify\n');
  });
});
