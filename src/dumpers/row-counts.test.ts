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

/** Splits the UTF-8 bytes themselves, so that a chunk can end inside a character. */
async function countBytes(counter: CopyRowCounter | InsertRowCounter, text: string, size: number) {
  const bytes = Buffer.from(text);
  const chunks = Array.from({ length: Math.ceil(bytes.length / size) }, (_, i) =>
    bytes.subarray(i * size, (i + 1) * size),
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

  it('counts the same whatever bytes the chunks split at, inside a character, a row or the end mark', async () => {
    const text = Buffer.from(
      [
        "SET client_encoding = 'UTF8';",
        'COPY "Ünïcode"."tä" (a) FROM stdin;',
        'é',
        '\\\\.',
        '\\.x',
        'x\\.',
        '\\N',
        '',
        '\\.',
        "SELECT pg_catalog.lowrite(0, '\\x2e');",
        'COPY public.last (id) FROM stdin;',
        '1',
        '2',
      ].join('\n'),
    );
    for (let size = 1; size <= text.length; size++) {
      const counter = new CopyRowCounter();
      const chunks = Array.from({ length: Math.ceil(text.length / size) }, (_, i) =>
        text.subarray(i * size, (i + 1) * size),
      );
      await pipeline(Readable.from(chunks), counter, new Writable({ write: (_c, _e, cb) => cb() }));
      // The last row has no newline: a dump cut short there still counts what it holds.
      expect(counter.counts, `chunks of ${size} bytes`).toEqual({ '"Ünïcode"."tä"': 6, 'public.last': 2 });
    }
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

  it('reads the same counts whatever the byte boundaries, inside multi-byte characters too', async () => {
    const copy = [
      'COPY "Ü" (a) FROM stdin;',
      'ü\\.',
      '\\.x',
      '',
      '\\.',
      'COPY public.t (a) FROM stdin;',
      '\\.',
      '',
    ].join('\n');
    const insert = [
      'CREATE TABLE `é` (',
      ');',
      "INSERT INTO `ü` VALUES ('ü(',1),('\\'',2);",
      'INSERT INTO `é` VALUES',
      '(1);',
      '',
    ].join('\n');
    for (let size = 1; size <= 9; size++) {
      expect(await countBytes(new CopyRowCounter(), copy, size)).toEqual({ '"Ü"': 3, 'public.t': 0 });
      expect(await countBytes(new InsertRowCounter(), insert, size)).toEqual({ é: 1, ü: 2 });
    }
  });
});
