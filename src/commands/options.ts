/**
 * Command-line options, parsed strictly. A mistyped option gets the same "did you mean" as a
 * mistyped config key, and every parsing mistake is a ConfigError: exit 2, nothing started.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { closest } from '../text/closest.ts';
import { ConfigError } from '../errors.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

export function parseOptions<T extends Options>(command: string, args: string[], options: T) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false });
  } catch (error) {
    throw new ConfigError(describeParseError(command, error as Error & { code?: string }, options));
  }
}

function describeParseError(command: string, error: Error & { code?: string }, options: Options): string {
  const known = Object.entries(options).flatMap(([name, option]) => [
    `--${name}`,
    ...(option.short ? [`-${option.short}`] : []),
  ]);
  const list = Object.keys(options)
    .map((name) => `--${name}`)
    .join(', ');
  switch (error.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION': {
      const given = /option '([^']+)'/i.exec(error.message)?.[1] ?? '?';
      const guess = closest(given.split('=')[0]!, known);
      return `${command}: unknown option "${given}"; ${guess ? `did you mean "${guess}"?` : `the options of ${command} are ${list}`}`;
    }
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL': {
      const given = /argument '([^']*)'/i.exec(error.message)?.[1] ?? '';
      return `${command}: unexpected argument "${given}"; values go after their option (e.g. --target ${given || 'NAME'}); the options of ${command} are ${list}`;
    }
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
      const option = /Option '(-[^' ]+)/.exec(error.message)?.[1] ?? 'an option';
      const name = option.replace(/^-+/, '');
      const isFlag = Object.entries(options).some(
        ([long, o]) => (long === name || o.short === name) && o.type === 'boolean',
      );
      return isFlag
        ? `${command}: ${option} takes no value; write it alone`
        : `${command}: ${option} needs a value after it, e.g. ${option} ${name.toUpperCase()}`;
    }
    default:
      return `${command}: ${error.message}`;
  }
}
