/**
 * "What the template grants", as a table read off a template: one row per statement of every IAM
 * role and of every resource policy (bucket, staging share, keys). The README holds the table for
 * the packaging fixture (`npm run grants` writes it); test/deploy-package.test.ts compares it with
 * the packaged template, so the README cannot say more or less than the template grants.
 */

type Value = unknown;

interface PolicyStatement {
  Effect: 'Allow' | 'Deny';
  Principal?: Value;
  Action: string | string[];
  Resource?: Value;
  Condition?: Record<string, Record<string, Value>>;
}

interface TemplateResource {
  Type: string;
  Properties?: Record<string, Value>;
}

/** A CloudFormation value as text: `Fn::Sub` as written, `Fn::Join` joined, `Ref` and `Fn::GetAtt` as `${…}`. */
export function render(value: Value): string {
  if (typeof value !== 'object' || value === null) return String(value);
  if (Array.isArray(value)) return value.map(render).join(', ');
  const object = value as Record<string, Value>;
  if ('Fn::Sub' in object) return String(object['Fn::Sub']);
  if ('Fn::Join' in object) {
    const [separator, parts] = object['Fn::Join'] as [string, Value[]];
    return parts.map(render).join(separator);
  }
  if ('Ref' in object) return `\${${String(object.Ref)}}`;
  if ('Fn::GetAtt' in object) return `\${${(object['Fn::GetAtt'] as string[]).join('.')}}`;
  if ('AWS' in object) return render(object.AWS);
  if ('Service' in object) return render(object.Service);
  return JSON.stringify(value);
}

function condition(statement: PolicyStatement): string {
  return Object.entries(statement.Condition ?? {})
    .flatMap(([operator, keys]) => Object.entries(keys).map(([key, v]) => `${operator} ${key} ${render(v)}`))
    .join('; ');
}

export type GrantRow = [who: string, effect: string, actions: string, on: string, when: string];

/** Code spans, which a Markdown formatter leaves as they are (it would take `*…*` for emphasis). */
const code = (text: string) => (text ? `\`${text}\`` : '');

function rows(who: string, statements: PolicyStatement[]): GrantRow[] {
  return statements.map((s) => [
    who + (s.Principal ? ` → ${code(render(s.Principal))}` : ''),
    s.Effect,
    code([s.Action].flat().join(', ')),
    s.Resource === undefined ? '(this resource)' : code(render(s.Resource)),
    code(condition(s)),
  ]);
}

/** The rows of a template's grants, in the template's order: roles, then resource policies. */
export function grantRows(resources: Record<string, unknown>): GrantRow[] {
  const result: GrantRow[] = [];
  const entries = Object.entries(resources as Record<string, TemplateResource>);
  for (const [id, resource] of entries) {
    if (resource.Type !== 'AWS::IAM::Role') continue;
    const policies = (resource.Properties?.Policies ?? []) as { PolicyDocument: { Statement: PolicyStatement[] } }[];
    for (const policy of policies) result.push(...rows(id, policy.PolicyDocument.Statement));
  }
  for (const [id, resource] of entries) {
    const document = (resource.Properties?.PolicyDocument ??
      resource.Properties?.FileSystemPolicy ??
      resource.Properties?.KeyPolicy) as { Statement: PolicyStatement[] } | undefined;
    if (resource.Type === 'AWS::IAM::Role' || !document) continue;
    result.push(...rows(id, document.Statement));
  }
  return result;
}

const HEADER: GrantRow = ['who (→ principal of a resource policy)', 'effect', 'actions', 'on', 'when'];

/** The Markdown table (Biome pads it when it formats the README; `tableRows` reads either back). */
export function grantsTable(resources: Record<string, unknown>): string {
  const line = (cells: string[]) => `| ${cells.map((c) => c.replaceAll('|', '\\|')).join(' | ')} |`;
  return [line(HEADER), line(HEADER.map(() => '---')), ...grantRows(resources).map(line)].join('\n');
}

/** The rows of the first Markdown table in `text`, cells trimmed, without the header and its rule. */
export function tableRows(text: string): string[][] {
  return text
    .split('\n')
    .filter((l) => l.trim().startsWith('|'))
    .map((l) =>
      l
        .trim()
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((c) => c.trim().replaceAll('\\|', '|')),
    )
    .slice(2);
}

export const GRANTS_BEGIN = '<!-- grants:begin (npm run grants writes this table from the packaging fixture) -->';
export const GRANTS_END = '<!-- grants:end -->';

/** The table between the README's markers. */
export function readmeGrants(readme: string): string {
  const begin = readme.indexOf(GRANTS_BEGIN);
  const end = readme.indexOf(GRANTS_END);
  if (begin < 0 || end < begin) throw new Error('the README has no grants table between its markers');
  return readme.slice(begin + GRANTS_BEGIN.length, end);
}
