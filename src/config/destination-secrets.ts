/**
 * The options of each destination type that hold secret references: one list that the registry
 * resolves when a step runs, the preflight checks before a run, and the deployment grants to the
 * roles that use the destination. A new type names its secret options here (the type checker asks).
 */
import type { DestinationConfig } from './schema.ts';

const SECRET_OPTIONS = {
  filesystem: [],
  s3: ['accessKeyId', 'secretAccessKey'],
  r2: ['accessKeyId', 'secretAccessKey'],
  supabase: ['accessKeyId', 'secretAccessKey'],
  dropbox: ['appKey', 'appSecret', 'refreshToken'],
  gdrive: ['serviceAccountKey', 'clientId', 'clientSecret', 'refreshToken'],
} as const satisfies { [Type in DestinationConfig['type']]: readonly string[] };

export type SecretOption = (typeof SECRET_OPTIONS)[keyof typeof SECRET_OPTIONS][number];

export interface DestinationSecret {
  option: SecretOption;
  /** Its path in the config, for messages. */
  where: string;
  reference: string;
}

/** The secret references a destination's options make, in a stable order. */
export function destinationSecrets(name: string, destination: DestinationConfig): DestinationSecret[] {
  const options: readonly SecretOption[] = SECRET_OPTIONS[destination.type] ?? [];
  const found: DestinationSecret[] = [];
  for (const option of options) {
    const reference = (destination as unknown as Record<string, unknown>)[option];
    if (typeof reference === 'string') found.push({ option, where: `destinations.${name}.${option}`, reference });
  }
  return found;
}
