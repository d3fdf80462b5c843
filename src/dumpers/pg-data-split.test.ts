import { describe, expect, it } from 'vitest';
import { dumpIdOfDataFile, splitDataEntries } from './pg-data-split.ts';

const LISTING = `;
; Archive created at 2026-12-06 04:13:02 UTC
;     TOC Entries: 9
;
216; 1259 16402 TABLE public order_lines postgres
3368; 0 16388 TABLE DATA public events postgres
3369; 0 16395 TABLE DATA public documents postgres
3370; 0 16402 TABLE DATA public order_lines postgres
3371; 0 16407 TABLE DATA public measurements postgres
3372; 0 16412 TABLE DATA public customers postgres
3374; 0 0 BLOBS - BLOBS
3375; 0 0 SEQUENCE SET public events_id_seq postgres
3217; 2606 16394 CONSTRAINT public events events_pkey postgres
`;
const SIZES: Record<string, number> = {
  '3368': 79_564_528,
  '3369': 11_544_459,
  '3370': 17_847_371,
  '3371': 30_052_997,
  '3372': 1_088_302,
};
const entries = (list: string) =>
  list
    .trim()
    .split('\n')
    .map((line) => line.split(';')[0]);

describe('splitDataEntries', () => {
  it('shares the data files out by size, and gives the first list every other entry', () => {
    const lists = splitDataEntries(LISTING, 2, (id) => SIZES[id]);
    expect(lists.map(entries)).toEqual([
      ['3368', '216', '3374', '3375', '3217'],
      ['3371', '3370', '3369', '3372'],
    ]);
    // Together they name every entry once.
    expect(lists.flatMap(entries).sort()).toEqual(entries(LISTING.replace(/^;.*\n/gm, '')).sort());
  });

  it('makes no more lists than there are data files, and one when there are none', () => {
    expect(splitDataEntries(LISTING, 8, (id) => SIZES[id])).toHaveLength(5);
    expect(splitDataEntries(LISTING, 3, () => undefined).map(entries)).toEqual([
      entries(LISTING.replace(/^;.*\n/gm, '')),
    ]);
  });
});

describe('dumpIdOfDataFile', () => {
  it('reads the dump id of a data file, compressed or not, and of nothing else', () => {
    expect(
      ['3368.dat.zst', '3369.dat.gz', '3370.dat.lz4', '3371.dat', 'toc.dat', 'blob_16400.dat.zst', '3372.dat.bak'].map(
        dumpIdOfDataFile,
      ),
    ).toEqual(['3368', '3369', '3370', '3371', undefined, undefined, undefined]);
  });
});
