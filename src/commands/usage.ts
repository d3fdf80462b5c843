/** What `stepvault --help` prints: the commands and their options. */
export const USAGE = `Usage: stepvault <command> [options]

Commands:
  run     --config FILE --target NAME   run the backup workflow locally (same state machine, same handlers)
  start   --target NAME [--wait]        start the deployed state machine for a target
  status  [--target NAME]               recent executions of the deployed state machine
  serve   --config FILE [--port N]      serve the Step Functions API on this machine, backed by local runs
  list    --config FILE --target NAME [--json] [--from DEST]
                                        the target's backups, newest first, from their manifests
  restore --config FILE --target NAME [--backup latest|KEY] [--from DEST] --into URL
          [--clean] [--jobs N] [--no-owner] [--force]
                                        check a backup against its manifest, then restore it into URL
                                        (password: $STEPVAULT_RESTORE_PASSWORD, else asked at a terminal)

Options for run:
  --config FILE         the config file (default: ./stepvault.config.yml, else the embedded sample)
  --target NAME         the target to back up (default: the only target, or "sample" for the embedded config)
  --retry-delay-ms N    wait N ms between retries instead of the state machine's intervals
  --verbose             also print the steps' JSON log lines (to stderr)
  -h, --help            this help

Options for start and status:
  --stage NAME          the deployed stage (default dev): its stack stepvault-<stage> names the state machine
  --state-machine ARN   the state machine (default: $STEPVAULT_STATE_MACHINE_ARN, else the stack's output)
  --region REGION       default: deploy.region of the config, else the AWS SDK's
  --wait                (start) follow the execution and exit 0 if it succeeds, 1 if not
  --name NAME           (start) the execution's name (default: <target>-<YYYYMMDDTHHMM>)
`;
