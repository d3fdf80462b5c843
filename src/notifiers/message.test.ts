import { describe, expect, it } from 'vitest';
import { consoleLink, failureMessage } from './message.ts';

const awsExecution = 'arn:aws:states:eu-west-1:123456789012:execution:stepvault-prod-backup:orders-20261122T030000Z';

describe('messages', () => {
  it('link an AWS execution to the Step Functions console, and a local one to nothing', () => {
    expect(consoleLink(awsExecution)).toEqual({
      label: 'Open the execution in the Step Functions console',
      url: `https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/${encodeURIComponent(awsExecution)}`,
    });
    expect(consoleLink('arn:aws:states:us-east-1:000000000000:execution:stepvault-local-backup:x')).toBeUndefined();
  });

  it('a failure mail names the state, the error and the Lambda error’s message, in text and HTML', () => {
    const message = failureMessage(
      {
        target: 'orders',
        failure: {
          state: 'Dump',
          error: 'ConnectionError',
          cause: JSON.stringify({ errorType: 'ConnectionError', errorMessage: 'cannot reach <db> & co', trace: [] }),
        },
      },
      { id: awsExecution, name: 'orders', startTime: '2026-11-22T03:00:00Z' },
    );
    expect(message.subject).toBe('[stepvault] orders: backup FAILED in Dump (ConnectionError)');
    expect(message.text).toContain('Cause:     cannot reach <db> & co\n');
    expect(message.text).toContain(
      'Open the execution in the Step Functions console: https://eu-west-1.console.aws.amazon.com/',
    );
    expect(message.html).toContain('cannot reach &lt;db&gt; &amp; co');
    expect(message.html).toContain(
      `href="https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/${encodeURIComponent(awsExecution)}"`,
    );
  });

  it('a failed Cleanup after a stored, verified backup says the backup is there, and only staging is left', () => {
    const stored = {
      status: 'stored',
      destination: 'primary',
      location: 's3://b/db/orders/x.dump',
      key: 'db/orders/x.dump',
      manifestKey: 'db/orders/x.dump.manifest.json',
      seconds: 1,
    };
    const message = failureMessage(
      {
        target: 'orders',
        upload: [stored] as never,
        verify: { destinations: [{ destination: 'primary', checked: 'manifest' }] },
        prune: { destinations: [{ destination: 'primary', kept: 3, deleted: [] }] },
        failure: { state: 'Cleanup', error: 'StorageError', cause: 'EBUSY' },
      },
      { id: awsExecution, name: 'orders', startTime: '2026-11-22T03:00:00Z' },
    );
    expect(message.subject).toBe('[stepvault] orders: backup stored, but FAILED in Cleanup (StorageError)');
    expect(message.text).toContain('Stored in:\n  primary: s3://b/db/orders/x.dump\n');
    expect(message.text).toContain('primary: size and manifest match the dump');
    expect(message.text).toContain('The backup is stored and verified; only removing its staging files failed.');
    expect(message.text).not.toMatch(/did not complete a backup/);
  });

  it('a failed required destination says no backup was completed, and that others may hold files', () => {
    const message = failureMessage(
      { target: 'orders', failure: { state: 'Upload', error: 'StorageError', cause: 'denied' } },
      { id: awsExecution, name: 'orders', startTime: '2026-11-22T03:00:00Z' },
    );
    expect(message.subject).toBe('[stepvault] orders: backup FAILED in Upload (StorageError)');
    expect(message.text).toContain('No backup was completed: a required destination failed.');
  });
});
