import { describe, expect, it } from 'vitest';
import { ApiError } from './api-error.ts';
import { page } from './paging.ts';

const ids = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
const position = (id: number) => id;

describe('nextToken paging', () => {
  it('serves every item once, in order or newest first, however the pages fall', () => {
    for (const descending of [false, true]) {
      const served: number[] = [];
      let nextToken: string | undefined;
      do {
        const result = page(ids(10), position, { scope: 's', maxResults: 3, nextToken, descending });
        served.push(...result.items);
        nextToken = result.nextToken;
      } while (nextToken);
      expect(served).toEqual(descending ? ids(10).reverse() : ids(10));
    }
  });

  it('keeps its place while items are added: none twice, none skipped', () => {
    const first = page(ids(5), position, { scope: 's', maxResults: 2, descending: true });
    expect(first.items).toEqual([5, 4]);
    // Two newer items arrive between the pages (new executions, newest first).
    const second = page(ids(7), position, { scope: 's', maxResults: 10, descending: true, nextToken: first.nextToken });
    expect(second).toEqual({ items: [3, 2, 1] });
  });

  it('refuses a token from another request, or none of its own, as InvalidToken', () => {
    const { nextToken } = page(ids(5), position, { scope: 'one', maxResults: 2, descending: false });
    for (const token of [nextToken, 'garbage']) {
      let refused: unknown;
      try {
        page(ids(5), position, { scope: 'two', maxResults: 2, descending: false, nextToken: token });
      } catch (error) {
        refused = error;
      }
      expect(refused).toBeInstanceOf(ApiError);
      expect((refused as ApiError).type).toBe('InvalidToken');
      expect((refused as ApiError).message).toBe(`Invalid Token: '${token}'`);
    }
  });
});
