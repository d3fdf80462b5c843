import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { CopyRowCounter, InsertRowCounter } from './row-counts.ts';

async function count(
  counter: CopyRowCounter | InsertRowCounter,
  text: string,
  chunk = 7,
): Promise<Record<string, number>> {
  const chunks = Array.from({ length: Math.ceil(text.length / chunk) }, (_, i) =>
    Buffer.from(text.slice(i * chunk, (i + 1) * chunk)),
  );
  await pipeline(Readable.from(chunks), counter, new Writable({ write: (_c, _e, cb) => cb() }));
  return counter.counts;
}

describe('row counts from the dump', () => {
  it('counts COPY rows per table, quoted names included, across chunk boundaries', async () => {
    const text = [
      'SET statement_timeout = 0;',
      'COPY public.t (id, v) FROM stdin;',
      '1\ta',
      '2\tb',
      '\\.',
      'COPY "Weird ""Schema"" Ü"."Table" ("Id") FROM stdin;',
      '1',
      '\\.',
      'COPY public.empty (id) FROM stdin;',
      '\\.',
      '',
    ].join('\n');
    expect(await count(new CopyRowCounter(), text)).toEqual({
      'public.t': 2,
      '"Weird ""Schema"" Ü"."Table"': 1,
      'public.empty': 0,
    });
  });

  it('counts INSERT tuples, ignoring parentheses and quotes inside strings', async () => {
    const text = [
      'CREATE TABLE `t` (',
      '  `id` int',
      ');',
      "INSERT INTO `t` VALUES (1,'a),(b'),(2,'it\\'s (fine)'),(3,NULL);",
      'INSERT INTO `t` VALUES (4,0x28);',
      'INSERT INTO `t` VALUES',
      "(5,'a;b'),",
      "(6,'(x)');",
      'CREATE TABLE `empty ``one` (',
      '  `id` int',
      ');',
      '',
    ].join('\n');
    expect(await count(new InsertRowCounter(), text, 5)).toEqual({ t: 6, 'empty `one': 0 });
  });
});
