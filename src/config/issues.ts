/**
 * Turns zod's findings into sentences a person can act on: each names the path in the file,
 * what is wrong, and what to write instead.
 */
import * as z from 'zod';
import { closest } from '../text/closest.ts';

type Path = readonly PropertyKey[];

export function formatConfigIssues(issues: readonly z.core.$ZodIssue[], schema: z.ZodType, data: unknown): string[] {
  return issues.flatMap((issue) => describeIssue(issue, schema, data));
}

function describeIssue(issue: z.core.$ZodIssue, schema: z.ZodType, data: unknown): string[] {
  const path = issue.path;
  const where = formatPath(path);
  const value = valueAt(data, path);
  switch (issue.code) {
    case 'unrecognized_keys': {
      const allowed = allowedKeysAt(schema, path, data);
      return issue.keys.map((key) => {
        const guess = closest(key, allowed);
        const fix = guess
          ? `did you mean "${guess}"?`
          : `remove it${allowed.length ? `; allowed here: ${allowed.join(', ')}` : ''}`;
        return `${formatPath([...path, key])}: unknown key; ${fix}`;
      });
    }
    case 'invalid_type': {
      if (value === undefined) {
        const parent = path.length > 1 ? formatPath(path.slice(0, -1)) : 'the top level';
        return [`${where}: is required; add "${String(path.at(-1))}:" under ${parent}`];
      }
      const expected = issue.expected === 'int' ? 'a whole number' : article(issue.expected);
      const hint = issue.expected === 'number' || issue.expected === 'int' ? ' (write it without quotes)' : '';
      const list = issue.expected === 'array' ? ` (a list, e.g. [${String(path.at(-1))}-1])` : '';
      return [`${where}: expected ${expected}, got ${describeValue(value, path)}${hint}${list}`];
    }
    case 'invalid_value': {
      const options = issue.values.map((v) => JSON.stringify(v)).join(', ');
      return [`${where}: ${describeValue(value, path)} is not allowed; use one of ${options}`];
    }
    case 'invalid_union': {
      const discriminator = (issue as { discriminator?: string }).discriminator;
      if (discriminator) {
        // zod puts the discriminator itself at the end of the path.
        const unionPath = path.at(-1) === discriminator ? path.slice(0, -1) : path;
        const kinds = discriminatorValuesAt(schema, unionPath, discriminator);
        const given = valueAt(data, [...unionPath, discriminator]);
        const what = given === undefined ? 'is missing' : `${describeValue(given, [discriminator])} is not supported`;
        return [
          `${formatPath([...unionPath, discriminator])}: ${what}; use one of ${kinds.map((k) => `"${k}"`).join(', ')}`,
        ];
      }
      return [`${where}: ${issue.message}`];
    }
    case 'too_small':
      // A message the schema wrote itself says more than the generic one.
      if (!/^Too small/.test(issue.message)) return [`${where}: ${issue.message}`];
      if (issue.origin === 'array' || issue.origin === 'string') return [`${where}: must not be empty`];
      return [`${where}: must be at least ${String(issue.minimum)}`];
    case 'too_big':
      if (!/^Too big/.test(issue.message)) return [`${where}: ${issue.message}`];
      if (issue.origin === 'string') return [`${where}: must be at most ${String(issue.maximum)} characters long`];
      return [`${where}: must be at most ${String(issue.maximum)}`];
    case 'invalid_key': {
      // A map's key (a target, destination or notification name) broke the name rule.
      const rule = issue.issues[0]?.message ?? 'is not a valid name';
      return [`${where}: ${JSON.stringify(String(path.at(-1)))} cannot be a name here: ${rule}`];
    }
    case 'invalid_format':
      return [`${where}: ${issue.message}`];
    default:
      return [`${where}: ${issue.message}`];
  }
}

export function formatPath(path: Path): string {
  if (path.length === 0) return '(top level)';
  return path
    .map((part, i) => (typeof part === 'number' ? `[${part}]` : i === 0 ? String(part) : `.${String(part)}`))
    .join('');
}

function valueAt(data: unknown, path: Path): unknown {
  let current = data;
  for (const part of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[part];
  }
  return current;
}

const SECRET_KEY = /password|secret|token|key$/i;

function describeValue(value: unknown, path: Path): string {
  const key = String(path.at(-1) ?? '');
  const kind = value === null ? 'null' : Array.isArray(value) ? 'a list' : article(typeof value);
  if (SECRET_KEY.test(key)) return kind;
  // JSON quoting shows a newline or a tab as what it is instead of printing it.
  if (typeof value === 'string')
    return `${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)} (${kind})`;
  if (typeof value === 'number' || typeof value === 'boolean') return `${String(value)} (${kind})`;
  return kind;
}

function article(word: string): string {
  return /^[aeiou]/.test(word) ? `an ${word}` : `a ${word}`;
}

/** Walks the schema along a path to the object schema that lives there. */
function schemaAt(schema: z.ZodType, path: Path, data: unknown): z.ZodType | undefined {
  let current: z.ZodType | undefined = unwrap(schema);
  let here = data;
  for (const part of path) {
    if (!current) return undefined;
    here = here !== null && typeof here === 'object' ? (here as Record<PropertyKey, unknown>)[part] : undefined;
    if (current instanceof z.ZodObject) current = unwrap(current.shape[String(part)] as z.ZodType | undefined);
    else if (current instanceof z.ZodRecord) current = unwrap(current.valueType as z.ZodType);
    else if (current instanceof z.ZodArray) current = unwrap(current.element as z.ZodType);
    else return undefined;
    current = pickUnionOption(current, here);
  }
  return current;
}

function unwrap(schema: z.ZodType | undefined): z.ZodType | undefined {
  let current = schema;
  while (current instanceof z.ZodOptional || current instanceof z.ZodDefault || current instanceof z.ZodNullable) {
    current = current.unwrap() as z.ZodType;
  }
  return current;
}

function pickUnionOption(schema: z.ZodType | undefined, value: unknown): z.ZodType | undefined {
  if (!(schema instanceof z.ZodDiscriminatedUnion)) return schema;
  const key = schema.def.discriminator;
  const given = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
  return (schema.options as z.ZodType[]).find((option) => literalOf(option, key) === given);
}

function literalOf(option: z.ZodType, key: string): unknown {
  const field = option instanceof z.ZodObject ? (option.shape[key] as z.ZodType | undefined) : undefined;
  return field instanceof z.ZodLiteral ? field.value : undefined;
}

function allowedKeysAt(schema: z.ZodType, path: Path, data: unknown): string[] {
  const here = schemaAt(schema, path, data);
  if (here instanceof z.ZodObject) return Object.keys(here.shape);
  // A record keyed by an enum (deploy.functions): its keys are the enum's values.
  if (here instanceof z.ZodRecord && here.keyType instanceof z.ZodEnum) return here.keyType.options.map(String);
  return [];
}

function discriminatorValuesAt(schema: z.ZodType, path: Path, key: string): string[] {
  const parentPath = path.slice(0, -1);
  const parent = schemaAt(schema, parentPath, undefined);
  const union =
    parent instanceof z.ZodRecord
      ? unwrap(parent.valueType as z.ZodType)
      : parent instanceof z.ZodObject
        ? unwrap(parent.shape[String(path.at(-1))] as z.ZodType)
        : undefined;
  if (!(union instanceof z.ZodDiscriminatedUnion)) return [];
  return (union.options as z.ZodType[]).map((o) => String(literalOf(o, key)));
}
