/**
 * Presets: what a kind of hosted server needs from a dump, said once.
 *
 * `supabase`: a Supabase project is PostgreSQL with schemas the platform creates and owns (auth,
 * storage, realtime, extensions, vault, …). A new project has them already, owned by roles a
 * restore cannot act as, so a dump that carries them does not restore into it. The list is the
 * one the Supabase CLI leaves out of `supabase db dump` (its internal schemas), kept in the same
 * words: the project's own schemas (public and any it created) are what is backed up.
 */
export const SUPABASE_MANAGED_SCHEMAS = [
  'information_schema',
  'pg_*',
  '_analytics',
  '_realtime',
  '_supavisor',
  'auth',
  'extensions',
  'pgbouncer',
  'realtime',
  'storage',
  'supabase_functions',
  'supabase_migrations',
  'cron',
  'dbdev',
  'graphql',
  'graphql_public',
  'net',
  'pgmq',
  'pgsodium',
  'pgsodium_masks',
  'pgtle',
  'repack',
  'tiger',
  'tiger_data',
  'topology',
  'vault',
] as const;

export type Preset = 'supabase';

/** The schemas a preset leaves out, before the target's own dump.excludeSchemas. */
export function presetExcludedSchemas(preset: Preset | undefined): string[] {
  return preset === 'supabase' ? [...SUPABASE_MANAGED_SCHEMAS] : [];
}
