/**
 * Amazon SES (v2 API): one mail with a plain-text and an HTML body. The client is made once per
 * process; its endpoint follows the SDK's AWS_ENDPOINT_URL_SESV2, which is how a local SES
 * server is reached.
 */
import { GetEmailIdentityCommand, SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { API_CALL, awsErrorDetail, awsRequestHandler } from '../aws/http.ts';
import { ConfigError, TransientError } from '../errors.ts';
import type { Message, Notifier } from './types.ts';

export interface SesSettings {
  from: string;
  to: string[];
  cc?: string[];
  configurationSet?: string;
  region?: string;
}

const clients = new Map<string, SESv2Client>();

function clientFor(region: string | undefined): SESv2Client {
  // The endpoint comes from the environment when the client is made; keep one per endpoint.
  const key = `${region ?? ''}|${process.env.AWS_ENDPOINT_URL_SESV2 ?? process.env.AWS_ENDPOINT_URL ?? ''}`;
  let client = clients.get(key);
  if (!client) {
    // Two attempts of at most API_CALL each keep a silent endpoint well inside Notify's own timeout.
    client = new SESv2Client({
      ...(region && { region }),
      maxAttempts: 2,
      requestHandler: awsRequestHandler(API_CALL),
    });
    clients.set(key, client);
  }
  return client;
}

export class SesNotifier implements Notifier {
  readonly name: string;
  private readonly settings: SesSettings;
  private readonly client: SESv2Client;

  constructor(name: string, settings: SesSettings, client?: SESv2Client) {
    this.name = name;
    this.settings = settings;
    this.client = client ?? clientFor(settings.region);
  }

  async send(message: Message): Promise<string> {
    const { from, to, cc, configurationSet } = this.settings;
    try {
      const result = await this.client.send(
        new SendEmailCommand({
          FromEmailAddress: from,
          Destination: { ToAddresses: to, ...(cc?.length && { CcAddresses: cc }) },
          Content: {
            Simple: {
              Subject: { Data: message.subject, Charset: 'UTF-8' },
              Body: { Text: { Data: message.text, Charset: 'UTF-8' }, Html: { Data: message.html, Charset: 'UTF-8' } },
            },
          },
          ...(configurationSet && { ConfigurationSetName: configurationSet }),
        }),
      );
      return result.MessageId ?? '(no message id)';
    } catch (error) {
      const e = error as { name?: string; message?: string };
      const detail = awsErrorDetail(error);
      // Not retried by the caller either way; the name tells the operator what to fix.
      if (
        [
          'MessageRejected',
          'MailFromDomainNotVerifiedException',
          'AccountSuspendedException',
          'SendingPausedException',
          'NotFoundException',
          'BadRequestException',
        ].includes(e.name ?? '')
      ) {
        throw new ConfigError(`SES notification ${this.name} was refused: ${detail}; is ${from} a verified identity?`, {
          cause: error,
        });
      }
      throw new TransientError(`SES notification ${this.name} could not be sent: ${detail}`, { cause: error });
    }
  }

  /**
   * SES sends from a verified identity: the address itself, or its domain. Asked with
   * GetEmailIdentity (ses:GetEmailIdentity), which sends nothing.
   */
  async check(): Promise<string> {
    const { from } = this.settings;
    const address = /<([^>]+)>/.exec(from)?.[1] ?? from;
    const domain = address.slice(address.lastIndexOf('@') + 1);
    const asked: string[] = [];
    for (const identity of [address, domain]) {
      asked.push(identity);
      try {
        const found = await this.client.send(new GetEmailIdentityCommand({ EmailIdentity: identity }));
        if (found.VerifiedForSendingStatus) return `${identity} is a verified SES identity`;
        throw new ConfigError(
          `SES identity ${identity} is not verified for sending (status ${found.VerificationStatus ?? 'unknown'}); finish its verification in SES`,
        );
      } catch (error) {
        if ((error as { name?: string }).name !== 'NotFoundException') {
          if (error instanceof ConfigError) throw error;
          const status = (error as { $response?: { statusCode?: number } }).$response?.statusCode;
          if (/Deserialization error|is not valid JSON/.test((error as Error).message ?? '')) {
            // An endpoint that speaks some of SESv2 but not this call (a local SES server).
            throw new TransientError(
              `SES notification ${this.name}: the SES endpoint does not answer GetEmailIdentity as SES does${status ? ` (HTTP ${status})` : ''}; the identity of ${identity} could not be checked`,
              { cause: error },
            );
          }
          throw new TransientError(
            `SES notification ${this.name}: cannot ask SES about ${identity}: ${awsErrorDetail(error)}`,
            {
              cause: error,
            },
          );
        }
      }
    }
    throw new ConfigError(
      `neither ${asked.join(' nor ')} is an SES identity; verify ${address} or its domain in SES (in the region the mail is sent from)`,
    );
  }
}
