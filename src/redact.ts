/**
 * Redaction by construction: every secret value this process resolves is remembered here, and
 * every text that leaves the process in a log line, a mail or an error report passes through
 * `redact`, which replaces those values and anything shaped like a credential.
 */
const known = new Set<string>();

/** Called by the secret resolver for every value it hands out. */
export function rememberSecret(value: string): void {
  // Very short values would turn ordinary words into asterisks; they are not secrets anyone keeps.
  if (value.length >= 4) known.add(value);
}

const PATTERNS: [RegExp, string][] = [
  // URLs with credentials: postgres://user:secret@host
  [/\b([a-z][a-z0-9+.-]*:\/\/[^:/@\s]+):[^@\s]+@/gi, '$1:***@'],
  // key=value, and key:value with nothing between, where the key names a secret ("password:
  // environment variable … is not set" is a sentence, not a credential)
  [
    /\b(password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|secret[_-]?access[_-]?key|PGPASSWORD|MYSQL_PWD)(\s*=\s*|:(?=\S))("[^"]*"|'[^']*'|[^\s,;&]+)/gi,
    '$1$2***',
  ],
];

export function redact(text: string): string {
  let result = text;
  for (const value of [...known].sort((a, b) => b.length - a.length)) result = result.split(value).join('***');
  for (const [pattern, replacement] of PATTERNS) result = result.replace(pattern, replacement);
  return result;
}

/** Redacts every string inside a JSON-like value. */
export function redactDeep<T>(value: T): T {
  if (typeof value === 'string') return redact(value) as T;
  if (Array.isArray(value)) return value.map(redactDeep) as T;
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, SECRET_KEY.test(k) ? '***' : redactDeep(v)]),
    ) as T;
  }
  return value;
}

const SECRET_KEY = /^(password|passwd|secret|token|apiKey|secretAccessKey|sessionToken)$/i;
