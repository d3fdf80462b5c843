/**
 * A 1 MiB buffer for a dump tool's standard output, by preloading the dbtools layer's libstdbuf
 * (what `stdbuf -o 1M` does). mariadb-dump and mysqldump write through C's stdio, which buffers a
 * pipe in 4 KiB: 215,000 writes for the 880 MB SQL dump of the benchmark's 1 GiB database, and
 * Node, which keeps up with them, woke and read 170,000 times, 5 KiB on average: 1.5 s of its CPU
 * on two cores the server and the tool need. With the buffer: 849 writes, 18,400 reads of 47 KiB,
 * 0.32 s (scripts/bench-pipe-reads.ts). `stepvault run` of that database into a folder went from
 * 0.72-0.87x the time of `mariadb-dump | zstd -1` to 1.00-1.12x (npm run bench, 1 and 4 GiB).
 *
 * Only a layer's tools get it: the library is the layer's own, built against the layer's C
 * library. What a tool writes is unchanged, only when: nothing waits in the buffer past the
 * tool's exit, and a tool that dies mid-dump is refused whatever it wrote.
 */
import type { ToolCommand } from './resolver.ts';

export const OUTPUT_BUFFER_BYTES = 1024 * 1024;

/** The variables that give the tool's standard output the buffer; none when the tool has no library for it. */
export function outputBufferEnvironment(tool: Pick<ToolCommand, 'outputBufferLibrary'>): Record<string, string> {
  // The loader reads LD_PRELOAD as a list split at spaces and colons: such a path cannot be named.
  if (!tool.outputBufferLibrary || /[\s:]/.test(tool.outputBufferLibrary)) return {};
  return { LD_PRELOAD: tool.outputBufferLibrary, _STDBUF_O: String(OUTPUT_BUFFER_BYTES) };
}
