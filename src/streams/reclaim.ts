/**
 * Gives back the buffers a stream is done with while the stream still runs. Every read from a
 * pipe or a file makes a new buffer, and V8 frees it only when a collection finds the small JS
 * object that holds it dead. Streaming allocates almost nothing else, so no collection comes
 * until V8's external-memory trigger, after about 64 MB of dead buffers: memory the allocator then
 * keeps. Measured here, copying 400 MB through a stream raised the peak resident set by 65 MB;
 * with a young-generation collection after every 8 MB passed (about a millisecond each), by 15 MB.
 * The same pile-up at the start of a dump made `stepvault run`'s peak grow with the data's size.
 *
 * The first stream also lets the old generation grow further between full collections. Its limit
 * is set after each one at about twice what survived, and a dump keeps about 15 MB alive: V8 could
 * then mark the whole heap again as soon as it had finished, 15 to 18 full collections during a
 * 1 GiB PostgreSQL dump (in every run on one machine, in one run of three on another), 0.3 to 0.4 s
 * of Node's CPU on two cores that pg_dump, the server and the archive check want. Grown by three
 * times what survived, the same dump ran one, in every run; the peak resident set fell by 3 MB,
 * since what fills that space is small and short-lived.
 */
import v8 from 'node:v8';
import vm from 'node:vm';

const COLLECT_EVERY_BYTES = 8 * 1024 * 1024;
/** How much the old generation may grow past what survived a full collection, in percent. */
const HEAP_GROWING_PERCENT = 200;

type Collector = (options: { type: 'minor'; execution: 'sync' }) => void;

let passed = 0;
let collector: Collector | null | undefined;

/** Counts bytes that went through a stream; after every 8 MB, collects the young generation. */
export function reclaimStreamed(bytes: number): void {
  passed += bytes;
  if (passed < COLLECT_EVERY_BYTES) return;
  passed = 0;
  collector ??= tuneCollector();
  collector?.({ type: 'minor', execution: 'sync' });
}

/**
 * Sets the old generation's growth for streaming, then returns the `gc` function V8 gives a new
 * context once exposed; none when V8 refuses (then nothing changes).
 */
function tuneCollector(): Collector | null {
  try {
    v8.setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as unknown;
    return typeof gc === 'function' ? (gc as Collector) : null;
  } catch {
    return null;
  }
}
