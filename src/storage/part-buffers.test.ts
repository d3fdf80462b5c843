import { describe, expect, it } from 'vitest';
import { PartBuffers } from './part-buffers.ts';

describe('the part buffers of a streamed S3 upload', () => {
  it('give back the buffer a finished part handed in, instead of a new one', () => {
    const buffers = new PartBuffers();
    const first = buffers.take(1024);
    const second = buffers.take(1024);
    expect(second).not.toBe(first);
    buffers.give(first);
    expect(buffers.take(1024)).toBe(first);
    expect(buffers.take(1024)).not.toBe(second);
  });

  it('let a spare too small for the parts now asked for go, and make one of the new size', () => {
    const buffers = new PartBuffers();
    const small = buffers.take(1024);
    buffers.give(small);
    const large = buffers.take(2048);
    expect(large).not.toBe(small);
    expect(large.length).toBe(2048);
    buffers.give(large);
    expect(buffers.take(2048)).toBe(large);
    expect(buffers.take(1024)).not.toBe(small);
  });

  it('keep none once cleared', () => {
    const buffers = new PartBuffers();
    const part = buffers.take(1024);
    buffers.give(part);
    buffers.clear();
    expect(buffers.take(1024)).not.toBe(part);
  });

  it('are their own memory, not slices of the shared pool small buffers come from', () => {
    const part = new PartBuffers().take(64);
    expect(part.byteOffset).toBe(0);
    expect(part.buffer.byteLength).toBe(64);
  });
});
