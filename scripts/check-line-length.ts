/**
 * `npm run lint`'s second half: no line over 120 characters. Biome's formatter already breaks code
 * at 120; what it cannot break is left whole on purpose: one string, SQL text or regular expression
 * a user may search the code for. So this checks what the formatter does not touch: comments in
 * code, and every line of the YAML and shell files. Markdown is prose and wraps where it is read.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const MAX = 120;
const CODE = /\.(ts|js|cjs|mjs)$/;
const WHOLE_FILE = /\.(ya?ml|sh)$|^\.ci\/|^scripts\/(test|try)$/;
const COMMENT = /^\s*(\/\/|\/\*|\*)/;

const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { encoding: 'utf8' })
  .split('\n')
  .filter((file) => CODE.test(file) || WHOLE_FILE.test(file));

const long: string[] = [];
for (const file of files) {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    continue; // listed by git but deleted in the working tree
  }
  text.split('\n').forEach((line, index) => {
    if (line.length <= MAX) return;
    if (CODE.test(file) && !COMMENT.test(line)) return;
    long.push(`${file}:${index + 1}: ${line.length} characters`);
  });
}

if (long.length) {
  console.error(`${long.length} line(s) over ${MAX} characters:\n${long.join('\n')}`);
  process.exit(1);
}
console.log(`line length: ${files.length} files, no line over ${MAX} characters where it can be broken`);
