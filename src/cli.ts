#!/usr/bin/env node
/**
 * The stepvault command line. `run` executes the backup workflow on this machine with the same
 * state machine and handlers that run in AWS.
 *
 * Exit codes: 0 the workflow succeeded; 1 it ended in its failure branch; 2 the command could
 * not start (bad arguments, bad config); 130/143 it was interrupted by SIGINT/SIGTERM.
 */
// Each command loads what it needs when it runs: `--help` and a mistyped command answer without
// loading the config schema, the AWS SDK, the dumpers or the workflow engine.
import { StepvaultError } from './errors.ts';
import { USAGE } from './commands/usage.ts';

const COMMANDS = ['run', 'start', 'status', 'serve', 'report', 'list', 'restore', 'doctor', 'keygen', 'help'];

export async function main(argv: string[], out = process.stdout, err = process.stderr): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '-h' || command === '--help' || command === 'help') {
    out.write(USAGE);
    return command ? 0 : 2;
  }
  try {
    switch (command) {
      case 'run':
        return await (await import('./commands/run.ts')).runCommand(rest, out, err);
      case 'start':
      case 'status':
        return await (await import('./commands/remote.ts')).remoteCommand(command, rest, out, err);
      case 'serve':
        return await (await import('./commands/serve.ts')).serveCommand(rest, out);
      case 'report':
        return await (await import('./commands/report.ts')).reportCommand(rest, out);
      case 'list':
      case 'restore':
        return await (await import('./commands/backups.ts')).backupsCommand(command, rest, out, err);
      case 'doctor':
        return await (await import('./commands/doctor.ts')).doctorCommand(rest, out);
      case 'keygen':
        return await (await import('./commands/keygen.ts')).keygenCommand(rest, out, err);
      default: {
        const { closest } = await import('./text/closest.ts');
        const guess = closest(command, COMMANDS);
        err.write(
          `stepvault: unknown command ${JSON.stringify(command.slice(0, 40))}${guess ? `; did you mean "${guess}"?` : ''}\n\n${USAGE}`,
        );
        return 2;
      }
    }
  } catch (error) {
    if (error instanceof StepvaultError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      err.write(`stepvault: ${(error as Error).message}\n`);
      return 2;
    }
    throw error;
  }
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2));
}
