/**
 * The part of putStream every provider shares: the body flows through a digest (size, SHA-256,
 * progress) into the provider's sink, under the caller's abort signal. What went wrong is kept
 * apart: the body's own error (a dump tool that failed) and an abort reach the caller as they
 * are, so the caller still knows its error; only a failure of the sink (the destination) is the
 * provider's to name.
 */
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DigestStream } from '../streams/digest.ts';
import type { PutStreamOptions, StreamWritten } from './types.ts';

export type StreamOptions = Pick<PutStreamOptions, 'onProgress' | 'expectedSize' | 'signal'>;

/**
 * Pipes the body into the sink to its end and says what passed. On failure the body and the
 * sink are destroyed (pipeline's rule) and the error is rethrown: the body's own, an AbortError,
 * or the sink's as `sinkFailure` names it.
 */
export async function streamInto(
  body: Readable,
  sink: Writable,
  options: StreamOptions,
  sinkFailure: (error: unknown) => unknown,
): Promise<StreamWritten> {
  const digest = new DigestStream(options.onProgress, options.expectedSize);
  let bodyError: unknown;
  const keepBodyError = (error: unknown) => {
    bodyError ??= error;
  };
  body.once('error', keepBodyError);
  try {
    await pipeline(body, digest, sink, ...(options.signal ? [{ signal: options.signal }] : []));
  } catch (error) {
    if (options.signal?.aborted) throw abortError(options.signal);
    if (bodyError !== undefined) throw bodyError;
    throw sinkFailure(error);
  } finally {
    body.off('error', keepBodyError);
  }
  return { size: digest.bytes, sha256: digest.hex() };
}

/** The error of an abandoned write: an AbortError whose cause is the signal's reason. */
export function abortError(signal: AbortSignal): Error {
  const reason = signal.reason as { message?: string } | undefined;
  return Object.assign(new Error(`the write was aborted${reason?.message ? ` (${reason.message})` : ''}`), {
    name: 'AbortError',
    cause: signal.reason,
  });
}

/** Throws the AbortError if the signal fired: checked again before a write becomes visible. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError(signal);
}

/** A body that will not be read (the write was refused before it began) is destroyed, not left hanging. */
export function discard(body: Readable): void {
  if (!body.destroyed) body.destroy();
}
