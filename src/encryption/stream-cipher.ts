/**
 * age's payload (the STREAM construction of age-encryption.org/v1) with Node's own
 * ChaCha20-Poly1305: 64 KiB chunks, each sealed under a nonce of an 11-byte big-endian counter
 * and a last-chunk flag. The age library does the same in JavaScript at about 87 MiB/s a core;
 * OpenSSL does it more than ten times faster, which is the whole reason for this file. The header
 * (the recipients' stanzas and its MAC) is still the library's; see encryptingStream in age.ts.
 */
import { createCipheriv, hkdfSync } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

const CHUNK = 64 * 1024;

/** The payload key: HKDF-SHA-256 of the file key, salted with the file's nonce, labelled "payload". */
export function payloadKey(fileKey: Uint8Array, nonce: Uint8Array): Buffer {
  return Buffer.from(hkdfSync('sha256', fileKey, nonce, 'payload', 32));
}

/**
 * Writes `prefix` (header and nonce) first, then the plaintext sealed chunk by chunk. The
 * plaintext is never copied to assemble a chunk: each piece goes through the cipher as it came,
 * and what the cipher gives is passed on as it is.
 */
export class AgePayloadEncryptor extends Transform {
  private readonly parts: Buffer[] = [];
  private pendingBytes = 0;
  private counter = 0n;
  private started = false;
  private readonly key: Buffer;
  private readonly prefix: Buffer;

  constructor(prefix: Buffer, key: Buffer) {
    super();
    this.prefix = prefix;
    this.key = key;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.start();
    this.parts.push(chunk);
    this.pendingBytes += chunk.length;
    // A full chunk stays pending until more follows: the last chunk, full or not, carries the flag.
    while (this.pendingBytes > CHUNK) this.seal(CHUNK, false);
    callback();
  }

  override _flush(callback: TransformCallback): void {
    this.start();
    // Empty only when the whole plaintext is: then the one chunk is empty, as age requires.
    this.seal(this.pendingBytes, true);
    callback();
  }

  private start(): void {
    if (this.started) return;
    this.started = true;
    this.push(this.prefix);
  }

  /** Seals the next `size` pending bytes as one chunk. */
  private seal(size: number, last: boolean): void {
    const nonce = Buffer.alloc(12);
    nonce.writeBigUInt64BE(this.counter++, 3);
    nonce[11] = last ? 1 : 0;
    const cipher = createCipheriv('chacha20-poly1305', this.key, nonce, { authTagLength: 16 });
    let left = size;
    while (left > 0) {
      const part = this.parts[0]!;
      const taken = part.length <= left ? part : part.subarray(0, left);
      if (taken === part) this.parts.shift();
      else this.parts[0] = part.subarray(left);
      this.push(cipher.update(taken));
      left -= taken.length;
    }
    this.pendingBytes -= size;
    cipher.final();
    this.push(cipher.getAuthTag());
  }
}
