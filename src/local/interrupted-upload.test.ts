import { describe, expect, it } from 'vitest';
import { manifestKey } from '../backups/naming.ts';
import { plan } from '../steps/plan.ts';
import { execution, stepWorld } from '../steps/testing.ts';
import { closeInterruptedUpload } from './interrupted-upload.ts';

describe('closing what an interrupted Upload left', () => {
  it('deletes a dump without its manifest, keeps one with its manifest, and says nothing of a destination never reached', async () => {
    const world = await stepWorld({ destinations: { done: {}, half: { prefix: 'p' }, untouched: {} } });
    const planned = await plan({ request: { target: 'orders' }, execution: execution(world.clock.now) }, world.runtime);
    const done = await world.storage('done');
    const half = await world.storage('half');
    const untouched = await world.storage('untouched');
    const key = planned.objectKey;
    await done.putText(key, 'dump', 'application/octet-stream');
    await done.putText(manifestKey(key), '{}', 'application/json');
    await half.putText(`p/${key}`, 'dump', 'application/octet-stream');

    const said = await closeInterruptedUpload(planned, world.runtime);

    expect(said.sort()).toEqual([
      `  done: kept memory://done/${key} (complete, with its manifest)`,
      `  half: removed memory://half/p/${key} (no manifest: not a backup)`,
    ]);
    expect(await done.head(key)).toBeDefined();
    expect(await done.head(manifestKey(key))).toBeDefined();
    expect(await half.head(`p/${key}`)).toBeUndefined();
    expect(await untouched.head(key)).toBeUndefined();
    expect(
      world.logs.some(
        (l) => l.message === 'interrupted: removed a dump without its manifest' && l.destination === 'half',
      ),
    ).toBe(true);
  });
});
