/** What `stepvault --help` prints: the commands and their options. */
export const USAGE = `Usage: stepvault <command> [options]

Commands:
  run     --config FILE --target NAME   run the backup workflow locally (same state machine, same handlers)
  start   --target NAME [--wait]        start the deployed state machine for a target
  status  [--target NAME]               recent executions of the deployed state machine
  serve   --config FILE [--port N]      serve the Step Functions API on this machine, backed by local runs, and the
                                        read-only status page on 127.0.0.1: /, /targets/NAME, /health (200 ok, 503 not)
  report  --config FILE --out FILE      the status page as one self-contained HTML file
  list    --config FILE --target NAME [--json] [--from DEST]
                                        the target's backups, newest first, from their manifests
  restore --config FILE --target NAME [--backup latest|KEY] [--from DEST] --into URL
          [--clean] [--jobs N] [--no-owner] [--force] [--database NAME | --all]
                                        check a backup against its manifest, then restore it into URL
                                        (password: $STEPVAULT_RESTORE_PASSWORD, else asked at a terminal)
          [--identity FILE|SECRET-REF]  an encrypted backup's age identity (default: $STEPVAULT_AGE_IDENTITY)
  keygen                                a new age identity (to stdout, a key file) and its recipient (to stderr)
  doctor  --config FILE [--target NAME] [--json]
                                        check, from this machine, everything tonight's backup of a target needs:
                                        secrets, DNS, TCP, TLS, login, privileges, dump tool, staging,
                                        destinations, notifiers, schedule (exit 0 all pass, 1 one fails)
  doctor  --stage NAME [--target NAME] [--json]
                                        the same checks, made inside the deployed stage where its dumps run

Options for run:
  --config FILE         the config file (default: ./stepvault.config.yml, else the embedded sample)
  --target NAME         the target to back up (default: the only target, or "sample" for the embedded config)
  --retry-delay-ms N    wait N ms between retries instead of the state machine's intervals
  --verbose             also print the steps' JSON log lines (to stderr)
  -h, --help            this help

Options for start, status and doctor --stage:
  --stage NAME          the deployed stage (default dev): its stack stepvault-<stage> names the state machine
  --state-machine ARN   the state machine (default: $STEPVAULT_STATE_MACHINE_ARN, else the stack's output)
  --region REGION       default: deploy.region of the config, else the AWS SDK's
  --wait                (start) follow the execution and exit 0 if it succeeds, 1 if not
  --name NAME           (start) the execution's name (default: <target>-<YYYYMMDDTHHMM>)
`;
