/**
 * The SES identity check with a client handed in: the local SES server the other suites use has
 * no GetEmailIdentity, so the API's answers are given here as SES documents them.
 */
import type { SESv2Client } from '@aws-sdk/client-sesv2';
import { describe, expect, it } from 'vitest';
import { SesNotifier } from './ses.ts';

type Answer = Record<string, unknown> | Error;

function notifier(answers: Record<string, Answer>, from = 'Backups <backups@acme.example>') {
  const asked: string[] = [];
  const client = {
    async send(command: { input: { EmailIdentity: string } }) {
      const identity = command.input.EmailIdentity;
      asked.push(identity);
      const answer = answers[identity] ?? Object.assign(new Error('not found'), { name: 'NotFoundException' });
      if (answer instanceof Error) throw answer;
      return answer;
    },
  } as unknown as SESv2Client;
  return { asked, ses: new SesNotifier('ops', { from, to: ['ops@acme.example'] }, client) };
}

describe('SesNotifier.check', () => {
  it('passes for a verified address, asking for nothing else', async () => {
    const { ses, asked } = notifier({ 'backups@acme.example': { VerifiedForSendingStatus: true } });
    await expect(ses.check()).resolves.toBe('backups@acme.example is a verified SES identity');
    expect(asked).toEqual(['backups@acme.example']);
  });

  it('passes for an address whose domain is verified', async () => {
    const { ses, asked } = notifier({ 'acme.example': { VerifiedForSendingStatus: true } });
    await expect(ses.check()).resolves.toBe('acme.example is a verified SES identity');
    expect(asked).toEqual(['backups@acme.example', 'acme.example']);
  });

  it('fails for an identity still pending, with its status', async () => {
    const { ses } = notifier({
      'backups@acme.example': { VerifiedForSendingStatus: false, VerificationStatus: 'PENDING' },
    });
    await expect(ses.check()).rejects.toThrow(
      'SES identity backups@acme.example is not verified for sending (status PENDING); finish its verification in SES',
    );
  });

  it('fails when neither the address nor its domain is an identity', async () => {
    const { ses } = notifier({});
    await expect(ses.check()).rejects.toThrow(
      'neither backups@acme.example nor acme.example is an SES identity; verify backups@acme.example or its domain in SES',
    );
  });

  it('says SES could not be asked when the call itself fails', async () => {
    const { ses } = notifier({
      'backups@acme.example': Object.assign(new Error('User is not authorized'), { name: 'AccessDeniedException' }),
    });
    await expect(ses.check()).rejects.toThrow(/SES notification ops: cannot ask SES about backups@acme.example: /);
  });
});
