/**
 * Each destination takes a write, a read, a list and a delete of a small probe object under the
 * target's prefix: the four things a run does there (upload, verify, prune). The probe is removed
 * whichever step fails, and a line says so when even that did not work.
 */
import { randomBytes } from 'node:crypto';
import { text } from 'node:stream/consumers';
import { targetPrefix } from '../backups/listing.ts';
import { storageFor } from '../storage/registry.ts';
import type { StorageProvider } from '../storage/types.ts';
import type { Check, CheckResult, DoctorContext } from './types.ts';
import { fail, ok } from './types.ts';

type Step = 'connect' | 'write' | 'read' | 'list' | 'delete';

const FIXES: Record<Step, string> = {
  connect: 'check the destination settings and their secrets',
  write:
    'let the backup role write there (s3:PutObject; a folder the process may create files in), and check that the bucket or folder exists',
  read: 'let the backup role read there (s3:GetObject) for Verify and restore',
  list: 'let the backup role list there (s3:ListBucket) for retention and list',
  delete: 'let the backup role delete there (s3:DeleteObject) for retention',
};

export const destinationsCheck: Check = {
  id: 'destinations',
  name: 'destinations',
  async run(context) {
    const results: CheckResult[] = [];
    for (const name of context.target.destinations) results.push(await probeDestination(context, name));
    return results;
  },
};

async function probeDestination({ config, target, secrets }: DoctorContext, name: string): Promise<CheckResult> {
  const line = `destination ${name}`;
  let step: Step = 'connect';
  let storage: StorageProvider | undefined;
  const key = `${targetPrefix(config.destinations[name]?.prefix, target.name)}doctor-probe-${randomBytes(6).toString('hex')}`;
  const body = `stepvault doctor probe of target ${target.name}\n`;
  let written = false;
  let leftBehind: string | undefined;
  try {
    storage = await storageFor(config, name, secrets);
    step = 'write';
    written = true;
    await storage.putText(key, body, 'text/plain');
    step = 'read';
    const stream = await storage.get(key);
    const read = stream ? await text(stream) : undefined;
    if (read !== body) throw new Error(read === undefined ? 'the probe is not there' : 'the probe came back changed');
    step = 'list';
    let listed = false;
    // Stops at the probe: a prefix with years of backups need not be listed to its end.
    for await (const object of storage.list(targetPrefix(config.destinations[name]?.prefix, target.name))) {
      if (object.key === key) {
        listed = true;
        break;
      }
    }
    if (!listed) throw new Error('the probe is not in the listing');
    step = 'delete';
    await storage.delete(key);
    if (await storage.head(key)) throw new Error('the probe is still there after the delete');
    written = false;
    return ok(line, `${storage.locate(key).replace(/doctor-probe-\w+$/, '')}: write, read, list and delete work`);
  } catch (error) {
    if (step === 'delete') leftBehind = `; the probe ${key} may still be there: delete it by hand`;
    else if (written && storage) {
      // The probe goes whatever failed; a write that failed may still have left it.
      leftBehind = await storage
        .delete(key)
        .then(() => undefined)
        .catch((e: Error) => `; the probe ${key} could not be removed (${e.message})`);
    }
    return fail(
      line,
      `cannot ${step}: ${(error as Error).message}${leftBehind ?? ''}`,
      `destinations.${name}: ${FIXES[step]}`,
    );
  }
}
