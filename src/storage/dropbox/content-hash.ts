/**
 * Dropbox's content_hash, computed as the bytes pass: the SHA-256 of each 4 MiB block, then the
 * SHA-256 of those digests concatenated (https://www.dropbox.com/developers/reference/content-hash).
 * Dropbox reports it for every stored file, so what it stored can be compared with what was sent.
 */
import { createHash, type Hash } from 'node:crypto';

const BLOCK = 4 * 1024 * 1024;

export class ContentHasher {
  private readonly overall = createHash('sha256');
  private block: Hash = createHash('sha256');
  private inBlock = 0;

  update(data: Buffer): void {
    let at = 0;
    while (at < data.length) {
      const take = Math.min(BLOCK - this.inBlock, data.length - at);
      this.block.update(data.subarray(at, at + take));
      this.inBlock += take;
      at += take;
      if (this.inBlock === BLOCK) this.closeBlock();
    }
  }

  hex(): string {
    if (this.inBlock > 0) this.closeBlock();
    return this.overall.digest('hex');
  }

  private closeBlock(): void {
    this.overall.update(this.block.digest());
    this.block = createHash('sha256');
    this.inBlock = 0;
  }
}

export function contentHash(data: Buffer): string {
  const hasher = new ContentHasher();
  hasher.update(data);
  return hasher.hex();
}
