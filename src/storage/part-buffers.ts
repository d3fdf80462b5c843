/**
 * The buffers a streamed S3 upload fills its parts in, kept and reused. A part lives for as long
 * as its request takes, long enough for V8 to move the small object that holds it into the old
 * generation, whose collections are rare: a fresh buffer per part (a Buffer.concat of the
 * chunks) stayed allocated long after its part was acknowledged, and the dead parts of a run
 * piled up until the next full collection. Here the bytes are copied into buffers that are
 * handed back once their part is sent (or has failed), so an upload holds at most the buffers of
 * its parts in flight and of the one filling, whatever the size of the body.
 */
export class PartBuffers {
  private readonly spare: Buffer[] = [];

  /**
   * A buffer of at least `size` bytes: a spare one, or a new one. Spares too small for the parts
   * now asked for (part sizes grow in long uploads) are let go.
   */
  take(size: number): Buffer {
    while (this.spare.length > 0) {
      const buffer = this.spare.pop()!;
      if (buffer.length >= size) return buffer;
    }
    // Its own memory, not a slice of Node's shared pool: handed back, it is reused whole.
    return Buffer.allocUnsafeSlow(size);
  }

  /** Takes a buffer back once nothing reads it any more (its part acknowledged, or given up). */
  give(buffer: Buffer): void {
    this.spare.push(buffer);
  }

  /** Lets every spare buffer go (the upload is over). */
  clear(): void {
    this.spare.length = 0;
  }
}
