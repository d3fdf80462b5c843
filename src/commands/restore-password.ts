/**
 * Where the password of a restore comes from when it is not in the --into URL (where `ps` would
 * show it): the STEPVAULT_RESTORE_PASSWORD environment variable, else a prompt without echo when
 * a person is at a terminal. Without either, none is sent (the server may trust the connection,
 * or ~/.pgpass may hold it).
 */
import { ConfigError } from '../errors.ts';

export const RESTORE_PASSWORD_VARIABLE = 'STEPVAULT_RESTORE_PASSWORD';

export interface PasswordSources {
  env: NodeJS.ProcessEnv;
  input: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?(mode: boolean): unknown };
  /** Where the prompt is written: standard error, so that standard output stays the command's. */
  prompt: { write(text: string): unknown };
}

export async function restorePassword(who: string, sources: PasswordSources): Promise<string | undefined> {
  const fromEnv = sources.env[RESTORE_PASSWORD_VARIABLE];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  if (!sources.input.isTTY || !sources.input.setRawMode) return undefined;
  const typed = await readHidden(`Password for ${who} (Enter for none): `, sources);
  return typed === '' ? undefined : typed;
}

/** Reads one line from a terminal in raw mode, echoing nothing; Ctrl-C aborts. */
function readHidden(question: string, { input, prompt }: PasswordSources): Promise<string> {
  // Echo off before the question shows: whatever is typed after it is never displayed.
  input.setRawMode!(true);
  prompt.write(question);
  input.setEncoding('utf8');
  input.resume();
  return new Promise<string>((resolve, reject) => {
    let typed = '';
    const finish = (error?: Error) => {
      input.removeListener('data', onData);
      input.setRawMode!(false);
      input.pause();
      prompt.write('\n');
      if (error) reject(error);
      else resolve(typed);
    };
    const onData = (chunk: string) => {
      for (const char of chunk) {
        if (char === '\r' || char === '\n' || char === '\x04') return finish();
        if (char === '\x03') return finish(new ConfigError('interrupted at the password prompt; nothing was restored'));
        if (char === '\x7f' || char === '\b') typed = typed.slice(0, -1);
        else typed += char;
      }
    };
    input.on('data', onData);
  });
}
