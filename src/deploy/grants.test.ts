/**
 * Least privilege, role by role, on generated deployments of the packaging fixture and variations
 * of it: each role reaches only the targets its step serves, their own folders of the
 * destinations, their secrets, their KMS key for what S3 does with it, their database user.
 * (test/deploy-package.test.ts checks the same on the template `serverless package` writes.)
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load.ts';
import { readDefinition } from '../statemachine/definition.ts';
import { generateDeployment } from './generate.ts';

const fixture = readFileSync(path.join(import.meta.dirname, '../../test/fixtures/deploy.config.yml'), 'utf8');

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation resources are free-form
type Resources = Record<string, { Type: string; Properties: Record<string, any> }>;
interface Statement {
  Action: string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

const deploy = (text: string) =>
  generateDeployment(parseConfig(text, '/x/stepvault.config.yml', '/x'), 'ci', readDefinition());
const resourcesOf = (text: string) => deploy(text).resources.Resources as Resources;
const roleOf = (resources: Resources, role: string): Statement[] =>
  resources[`${role}FunctionRole`]!.Properties.Policies[0].PolicyDocument.Statement;
const withAction = (statements: Statement[], action: string) => statements.filter((s) => s.Action.includes(action));
const resourcesWith = (statements: Statement[], action: string) =>
  withAction(statements, action).flatMap((s) => [s.Resource].flat());

/** The fixture with `orders` on the lambda runner (a public database) and `shop` staged on efs. */
const mixed = fixture.replace('  orders:\n', '  orders:\n    runner: lambda\n');

describe('S3: each role on its targets’ own folders of the destinations, never the prefix or the bucket', () => {
  it('lets Upload write, look at and remove only keys under <prefix>/<target>/ of each target', () => {
    const upload = roleOf(resourcesOf(fixture), 'Upload');
    const folders = ['arn:aws:s3:::acme-backups/db/orders/*', 'arn:aws:s3:::acme-backups/db/shop/*'];
    for (const action of ['s3:PutObject', 's3:AbortMultipartUpload', 's3:GetObject', 's3:DeleteObject'])
      expect(resourcesWith(upload, action), action).toEqual(folders);
    expect(withAction(upload, 's3:ListBucket')).toEqual([
      expect.objectContaining({
        Resource: 'arn:aws:s3:::acme-backups',
        Condition: { StringLike: { 's3:prefix': ['db/orders/*', 'db/shop/*'] } },
      }),
    ]);
    expect(JSON.stringify(upload)).not.toContain('acme-backups/db/*');
  });

  it('on a destination without a prefix, scopes to the targets’ folders, not the whole bucket', () => {
    const resources = resourcesOf(fixture.replace('bucket: acme-backups, prefix: db,', 'bucket: acme-backups,'));
    for (const role of ['Upload', 'Prune', 'Verify', 'Cleanup']) {
      const statements = roleOf(resources, role);
      const objects = statements.flatMap((s) => [s.Resource].flat()).filter((r) => String(r).includes('acme-backups/'));
      expect(objects, role).toEqual(['arn:aws:s3:::acme-backups/orders/*', 'arn:aws:s3:::acme-backups/shop/*']);
      expect(JSON.stringify(statements), role).not.toContain('acme-backups/*');
    }
    expect(withAction(roleOf(resources, 'Prune'), 's3:ListBucket')[0]!.Condition).toEqual({
      StringLike: { 's3:prefix': ['orders/*', 'shop/*'] },
    });
  });

  it('gives a destination only the targets that use it', () => {
    const text = fixture
      .replace(
        'destinations:\n  primary:',
        'destinations:\n  archive: { type: s3, bucket: acme-archive, prefix: old }\n  primary:',
      )
      .replace('  shop:\n', '  shop:\n    destinations: [primary, archive]\n');
    const upload = roleOf(resourcesOf(text), 'Upload');
    expect(resourcesWith(upload, 's3:PutObject')).toEqual([
      'arn:aws:s3:::acme-backups/db/orders/*',
      'arn:aws:s3:::acme-backups/db/shop/*',
      'arn:aws:s3:::acme-archive/old/shop/*',
    ]);
  });

  it('grants nothing on a destination reached with its own keys or at another endpoint', () => {
    const keys =
      '"secretsmanager:arn:aws:secretsmanager:eu-west-1:123456789012:secret:s3-keys#id", secretAccessKey: "secretsmanager:arn:aws:secretsmanager:eu-west-1:123456789012:secret:s3-keys#secret"';
    const resources = resourcesOf(fixture.replace('storageClass: STANDARD_IA }', `accessKeyId: ${keys} }`));
    expect(JSON.stringify(resources)).not.toContain('arn:aws:s3:::acme-backups/');
    // The keys are the identity: Upload reads them instead.
    expect(JSON.stringify(resourcesWith(roleOf(resources, 'Upload'), 'secretsmanager:GetSecretValue'))).toContain(
      's3-keys',
    );
  });

  it('lets Prune list only its targets’ folders, and read and delete there, with nothing to write', () => {
    const prune = roleOf(resourcesOf(fixture), 'Prune');
    expect(withAction(prune, 's3:ListBucket')[0]).toMatchObject({
      Resource: 'arn:aws:s3:::acme-backups',
      Condition: { StringLike: { 's3:prefix': ['db/orders/*', 'db/shop/*'] } },
    });
    expect(prune.flatMap((s) => s.Action)).not.toContain('s3:PutObject');
    expect(prune.flatMap((s) => s.Action)).not.toContain('kms:GenerateDataKey');
  });

  it('lets Plan list and read only the first destination of the targets on runner auto, and nothing without one', () => {
    expect(JSON.stringify(roleOf(resourcesOf(fixture), 'Plan'))).not.toContain('s3:');
    const text = fixture
      .replace('  orders:\n', '  orders:\n    runner: auto\n')
      .replace(
        '  functions:\n',
        '  fargate: { image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/stepvault:1" }\n  functions:\n',
      );
    const plan = roleOf(resourcesOf(text), 'Plan');
    expect(resourcesWith(plan, 's3:GetObject')).toEqual(['arn:aws:s3:::acme-backups/db/orders/*']);
    expect(withAction(plan, 's3:ListBucket')[0]!.Condition).toEqual({ StringLike: { 's3:prefix': ['db/orders/*'] } });
  });
});

describe('the Doctor function (stepvault doctor --stage)', () => {
  it('probes every target’s own folders: put, read, list and delete, no multipart upload, nothing outside them', () => {
    const doctor = roleOf(resourcesOf(fixture), 'Doctor');
    const objects = withAction(doctor, 's3:PutObject');
    expect(objects).toHaveLength(1);
    expect(objects[0]!.Action).toEqual(['s3:PutObject', 's3:GetObject', 's3:DeleteObject']);
    expect(objects[0]!.Resource).toEqual([
      'arn:aws:s3:::acme-backups/db/orders/*',
      'arn:aws:s3:::acme-backups/db/shop/*',
    ]);
    expect(withAction(doctor, 's3:ListBucket')[0]).toMatchObject({
      Resource: 'arn:aws:s3:::acme-backups',
      Condition: { StringLike: { 's3:prefix': ['db/orders/*', 'db/shop/*'] } },
    });
    const actions = doctor.flatMap((s) => s.Action);
    expect(actions).not.toContain('s3:AbortMultipartUpload');
    expect(actions).not.toContain('s3:ListBucketMultipartUploads');
    // It sends nothing: no SES, no events.
    expect(actions.filter((a) => a.startsWith('ses:') || a.startsWith('events:'))).toEqual([]);
  });

  it('sits where the dumps are: in the VPC and on the staging share, with the layer', () => {
    const deployment = deploy(fixture);
    const doctor = deployment.functions.doctor!;
    const dump = deployment.functions.dump!;
    expect(doctor.vpc).toEqual(dump.vpc);
    expect(doctor.fileSystemConfig).toEqual(dump.fileSystemConfig);
    expect(doctor.layers).toEqual(dump.layers);
  });
});

describe('secrets: only those of the targets a step serves', () => {
  it('lets Dump read only the passwords of targets dumped on efs, StreamDump only those streamed on Lambda', () => {
    const resources = resourcesOf(mixed);
    const dump = JSON.stringify(roleOf(resources, 'Dump'));
    expect(dump).toContain('secret:shop-db-AbC123');
    expect(dump).not.toContain('orders/db-password');
    const stream = roleOf(resources, 'StreamDump');
    expect(JSON.stringify(stream)).toContain('parameter/prod/orders/db-password');
    expect(JSON.stringify(stream)).not.toContain('shop-db');
    // StreamDump writes into the first required destination only: not the optional R2 copy's keys.
    expect(JSON.stringify(stream)).not.toContain('r2-keys');
    // Plan resolves every target's password (a bad config fails before anything runs), but no destination's keys.
    const plan = JSON.stringify(roleOf(resources, 'Plan'));
    expect(plan).toContain('shop-db-AbC123');
    expect(plan).toContain('orders/db-password');
    expect(plan).not.toContain('r2-keys');
  });

  it('lets Verify read only the drill passwords of the targets that drill', () => {
    const text = fixture.replace(
      '    schedule: { rate: "12 hours" }\n',
      '    schedule: { rate: "12 hours" }\n    verify: { drill: { into: "mysql://backup@scratch.internal:3306/drill", password: "ssm:/prod/drill" } }\n',
    );
    expect(JSON.stringify(roleOf(resourcesOf(text), 'Verify'))).toContain('parameter/prod/drill');
    expect(JSON.stringify(roleOf(resourcesOf(text), 'Upload'))).not.toContain('parameter/prod/drill');
  });

  it('lets Verify alone read the age identity that decrypts for the drill; the dumping roles only encrypt', () => {
    const text = fixture.replace(
      '    schedule: { rate: "12 hours" }\n',
      '    schedule: { rate: "12 hours" }\n    encryption: { age: { recipients: [age1ner298h0z2haljx4363vs3gmewwjcx8ajldt8cyqghpnw4wfdqpsw36m9m] } }\n    verify: { drill: { into: "mysql://backup@scratch.internal:3306/drill", identity: "ssm:/prod/age-identity" } }\n',
    );
    const resources = resourcesOf(text);
    expect(JSON.stringify(roleOf(resources, 'Verify'))).toContain('parameter/prod/age-identity');
    const roles = Object.entries(resources).filter(([, r]) => (r as { Type?: string }).Type === 'AWS::IAM::Role');
    const readers = roles.filter(([, role]) => JSON.stringify(role).includes('age-identity')).map(([name]) => name);
    expect(readers).toEqual([expect.stringMatching(/Verify/)]);
  });
});

describe('the RDS check', () => {
  const rds = `${fixture.replace(/\n {2}shop:\n[\s\S]*$/, '\n')}  erp:
    engine: mssql
    host: erp.abc.eu-west-1.rds.amazonaws.com
    database: erp
    user: backup
    password: "ssm:/prod/erp/pw"
    destinations: [primary]
    mssql: { mode: rds }
`;

  it('is not deployed when no target uses RDS mode: no function, role, state or invoke grant', () => {
    const deployment = deploy(fixture);
    const resources = deployment.resources.Resources as Resources;
    expect(deployment.functions).not.toHaveProperty('checkRdsBackup');
    expect(resources).not.toHaveProperty('CheckRdsBackupFunctionRole');
    const machine = JSON.stringify(resources.BackupStateMachine);
    for (const state of ['CheckRdsBackup', 'WaitForRdsBackup', 'IsRdsBackupDone']) expect(machine).not.toContain(state);
  });

  it('with an RDS target, is deployed and reads only that target’s secret and its destination folder', () => {
    const resources = resourcesOf(rds);
    const check = JSON.stringify(roleOf(resources, 'CheckRdsBackup'));
    expect(check).toContain('parameter/prod/erp/pw');
    expect(check).not.toContain('orders/db-password');
    expect(resourcesWith(roleOf(resources, 'CheckRdsBackup'), 's3:GetObject')).toEqual([
      'arn:aws:s3:::acme-backups/db/erp/*',
    ]);
    expect(roleOf(resources, 'CheckRdsBackup').flatMap((s) => s.Action)).not.toContain('s3:PutObject');
  });
});

describe('KMS: the key resolved to its ARN, and only what S3 asks of it for each role', () => {
  const withKey = (key: string) => resourcesOf(fixture.replace('kmsKeyId: alias/backups', `kmsKeyId: ${key}`));
  const kms = (resources: Resources, role: string) =>
    roleOf(resources, role).filter((s) => s.Action[0]!.startsWith('kms:'));
  const keyId = '1234abcd-12ab-34cd-56ef-1234567890ab';

  it('turns a key id into the key’s ARN, through S3 only', () => {
    const [upload] = kms(withKey(keyId), 'Upload');
    expect(upload).toEqual({
      Effect: 'Allow',
      Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
      Resource: { 'Fn::Sub': `arn:\${AWS::Partition}:kms:\${AWS::Region}:\${AWS::AccountId}:key/${keyId}` },
      Condition: { StringEquals: { 'kms:ViaService': { 'Fn::Sub': 's3.${AWS::Region}.amazonaws.com' } } },
    });
  });

  it('grants writers GenerateDataKey and Decrypt (multipart), readers Decrypt, and Cleanup and Notify nothing', () => {
    const resources = withKey(keyId);
    for (const role of ['Upload'])
      expect(
        kms(resources, role).flatMap((s) => s.Action),
        role,
      ).toEqual(['kms:GenerateDataKey', 'kms:Decrypt']);
    for (const role of ['Verify', 'Prune'])
      expect(
        kms(resources, role).flatMap((s) => s.Action),
        role,
      ).toEqual(['kms:Decrypt']);
    for (const role of ['Cleanup', 'Notify', 'Dump', 'Plan']) expect(kms(resources, role), role).toEqual([]);
    expect(JSON.stringify(resources)).not.toContain('kms:Encrypt');
  });

  it('keeps a key ARN, and grants an alias on the account’s keys only where the alias names them', () => {
    const arn = `arn:aws:kms:eu-west-1:123456789012:key/${keyId}`;
    expect(kms(withKey(arn), 'Upload')[0]!.Resource).toBe(arn);
    const [alias] = kms(withKey('alias/backups'), 'Upload');
    expect(alias!.Resource).toEqual({ 'Fn::Sub': 'arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/*' });
    expect(alias!.Condition).toMatchObject({
      'ForAnyValue:StringEquals': { 'kms:ResourceAliases': ['alias/backups'] },
    });
    // An AWS managed key's own policy lets the account use it through S3: no grant.
    expect(kms(withKey('alias/aws/s3'), 'Upload')).toEqual([]);
  });

  it('grants on the bucket’s customer-managed key when the destination sets no sse', () => {
    const text = fixture
      .replace('sse: aws:kms, kmsKeyId: alias/backups, ', '')
      .replace('bucket: { name: acme-backups,', `bucket: { name: acme-backups, kmsKeyId: ${keyId},`);
    const resources = resourcesOf(text);
    expect(kms(resources, 'Upload')[0]!.Resource).toEqual({
      'Fn::Sub': `arn:\${AWS::Partition}:kms:\${AWS::Region}:\${AWS::AccountId}:key/${keyId}`,
    });
    expect(kms(resources, 'Verify')[0]!.Action).toEqual(['kms:Decrypt']);
    // With the bucket's default (AWS managed) key, nothing.
    const managed = resourcesOf(fixture.replace('sse: aws:kms, kmsKeyId: alias/backups, ', ''));
    for (const role of ['Upload', 'Verify', 'Prune']) expect(kms(managed, role), role).toEqual([]);
  });

  it('refuses a key that is none of a key id, key ARN or alias, naming the field', () => {
    expect(() => withKey('backups-key')).toThrow(
      'destinations.primary.kmsKeyId: "backups-key" is not a KMS key: give a key id (1234abcd-12ab-34cd-56ef-1234567890ab, or mrk-… for a multi-Region key), a key ARN, alias/name, or an alias ARN',
    );
  });
});

describe('rds-db:connect on the one database', () => {
  const iam = (extra: string) =>
    fixture.replace('    password: "ssm:/prod/orders/db-password"\n', `    iamAuth: true\n${extra}`);

  it('names the instance or cluster resource id and the user', () => {
    const dump = JSON.stringify(roleOf(resourcesOf(iam('    rdsResourceId: db-ABCDEFGHIJKLMNOPQRSTUVWXY0\n')), 'Dump'));
    expect(dump).toContain(':dbuser:db-ABCDEFGHIJKLMNOPQRSTUVWXY0/backup');
  });

  it('refuses iamAuth without the resource id when deploying, and a resource id of the wrong shape', () => {
    expect(() => deploy(iam(''))).toThrow(
      'targets.orders.iamAuth: deploying needs targets.orders.rdsResourceId, the resource id of the RDS instance (db-…',
    );
    expect(() => deploy(iam('    rdsResourceId: orders-cluster\n'))).toThrow(
      "is not an RDS resource id: give the instance's DbiResourceId (db-ABCDEFGHIJKLMNOPQRSTUVWXY0) or the Aurora cluster's DbClusterResourceId (cluster-ABCDEFGHIJKLMNOPQRSTUVWXY0), not its name or ARN",
    );
    expect(() =>
      deploy(fixture.replace('    database: orders\n', '    database: orders\n    rdsResourceId: db-ABC\n')),
    ).toThrow('applies only with iamAuth: true');
  });
});
