/**
 * The config used when there is no stepvault.config.yml: back up the sample database on the
 * local PostgreSQL into ./backups and write the mail into ./outbox. It is what the README's first
 * command runs; scripts/sample-database.ts creates the database it names.
 */
export const EMBEDDED_CONFIG_YAML = `
defaults:
  timezone: UTC
  staging: ./.stepvault/staging
  destinations: [local]
  notify: [desk]
  retention: { keepLast: 7 }

destinations:
  local: { type: filesystem, path: ./backups }

notifications:
  desk: { type: outbox, path: ./outbox, on: [failure, success] }

targets:
  sample:
    engine: postgres
    host: 127.0.0.1
    port: 5432
    database: stepvault_sample
    user: postgres
`;
