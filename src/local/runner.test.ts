import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { handlerFile, STEP_NAMES } from '../steps/table.ts';
import { localFunction } from './runner.ts';

const root = path.join(import.meta.dirname, '../..');

describe('the local runner’s handlers', () => {
  it('are the modules the table of steps names, functions/<step>.ts, one per step', async () => {
    for (const step of STEP_NAMES) {
      const expected = await import(pathToFileURL(path.join(root, handlerFile(step))).href);
      expect(await localFunction(step), step).toBe(expected);
      expect(typeof (await localFunction(step)).createHandler, step).toBe('function');
    }
  });
});
