/**
 * `stepvault keygen`: a new age key pair. The identity goes to standard output in age-keygen's
 * own file format (so `stepvault keygen > key.txt` is a key file `age -d -i` and `restore
 * --identity` read); the recipient and where to keep the identity go to standard error, where
 * they are read and not redirected into the key file.
 */
import { generateX25519Identity, identityToRecipient } from 'age-encryption';

export async function keygenCommand(
  args: string[],
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
): Promise<number> {
  if (args.length > 0) {
    err.write(
      `stepvault: keygen takes no arguments (got ${JSON.stringify(args[0]!.slice(0, 40))}); redirect its output: stepvault keygen > backup-key.txt\n`,
    );
    return 2;
  }
  // X25519: what every age implementation reads (the post-quantum hybrid needs age 1.3 or later).
  const identity = await generateX25519Identity();
  const recipient = await identityToRecipient(identity);
  out.write(`# created: ${new Date().toISOString()}\n# public key: ${recipient}\n${identity}\n`);
  err.write(
    [
      `Public key (the recipient): ${recipient}`,
      '',
      'Put the public key in the config, under encryption.age.recipients: it only encrypts.',
      'The AGE-SECRET-KEY-1… line is the identity: whoever holds it can read every backup made for this key.',
      'Keep it out of the config, the repository and the backup account: in a password manager or a',
      'secret store that only the people (and the Verify function, for the drill) who restore can read,',
      'with a second, offline copy (printed, or on a disconnected drive) for the day the first is lost.',
      'A backup encrypted for a lost identity cannot be restored by anyone.',
      '',
    ].join('\n'),
  );
  return 0;
}
