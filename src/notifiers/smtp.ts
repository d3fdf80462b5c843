/**
 * Mail through any SMTP server with nodemailer: the same text and HTML as SES. TLS always, unless
 * a relay is told otherwise: implicit TLS (`secure`, port 465) or STARTTLS required on submission
 * (587). nodemailer is loaded when a mail is sent, so functions that never mail do not load it.
 */
import { readFile } from 'node:fs/promises';
import { ConfigError, TransientError } from '../errors.ts';
import type { Message, Notifier } from './types.ts';

export interface SmtpSettings {
  host: string;
  port?: number;
  secure: boolean;
  requireTLS: boolean;
  /** A PEM file the server's certificate must chain to. */
  ca?: string;
  /** Plain, or a secret reference. */
  user?: string;
  /** A secret reference. */
  password?: string;
  from: string;
  to: string[];
  cc?: string[];
  timeoutSeconds: number;
  resolveSecret: (reference: string, where: string) => Promise<string>;
}

/** nodemailer's error codes whose cause a person must fix; sending again gives the same answer. */
const PERMANENT = new Set(['EAUTH', 'ENOAUTH', 'EENVELOPE', 'EMESSAGE', 'ETLS', 'ECONFIG']);

export class SmtpNotifier implements Notifier {
  readonly name: string;
  private readonly settings: SmtpSettings;

  constructor(name: string, settings: SmtpSettings) {
    this.name = name;
    this.settings = settings;
  }

  async send(message: Message): Promise<string> {
    const s = this.settings;
    const { transport, where, user } = await this.transport();
    try {
      const sent = await transport.sendMail({
        from: s.from,
        to: s.to,
        ...(s.cc?.length && { cc: s.cc }),
        subject: message.subject,
        text: message.text,
        html: message.html,
        headers: { 'X-Stepvault-Outcome': message.outcome },
      });
      return sent.messageId;
    } catch (error) {
      throw smtpError(error, where, user, s.timeoutSeconds);
    } finally {
      transport.close();
    }
  }

  /** Connects, sets up TLS and logs in as a send would, and says goodbye before any mail. */
  async check(): Promise<string> {
    const { transport, where, user } = await this.transport();
    try {
      await transport.verify();
      return `${where}: connected${user ? `, logged in as ${user}` : ''}`;
    } catch (error) {
      throw smtpError(error, where, user, this.settings.timeoutSeconds);
    } finally {
      transport.close();
    }
  }

  private async transport() {
    const s = this.settings;
    const port = s.port ?? (s.secure ? 465 : 587);
    const where = `SMTP notification ${this.name} (${s.host}:${port})`;
    const auth = await this.login();
    const ca = s.ca === undefined ? undefined : await readCa(s.ca, this.name);
    // The mailer and its SMTP transport alone, not nodemailer's entry point, which brings every
    // transport (SES, sendmail, pools, well-known services) into the Notify bundle.
    const [{ default: Mail }, { default: SMTPTransport }] = await Promise.all([
      import('nodemailer/lib/mailer'),
      import('nodemailer/lib/smtp-transport'),
    ]);
    const limitMs = s.timeoutSeconds * 1000;
    const options = {
      host: s.host,
      port,
      secure: s.secure,
      requireTLS: !s.secure && s.requireTLS,
      ...(ca && { tls: { ca } }),
      ...(auth && { auth }),
      // Each phase is bounded: a server that accepts and never greets, or stops answering, ends here.
      connectionTimeout: limitMs,
      greetingTimeout: limitMs,
      socketTimeout: limitMs,
      dnsTimeout: limitMs,
    };
    return { transport: new Mail(new SMTPTransport(options), options), where, user: auth?.user };
  }

  private async login(): Promise<{ user: string; pass: string } | undefined> {
    const { user, password, resolveSecret } = this.settings;
    if (user === undefined || password === undefined) return undefined;
    const at = `notifications.${this.name}`;
    return {
      user: /^(env|ssm|secretsmanager):/.test(user) ? await resolveSecret(user, `${at}.user`) : user,
      pass: await resolveSecret(password, `${at}.password`),
    };
  }
}

async function readCa(file: string, name: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (error) {
    throw new ConfigError(`notifications.${name}.ca: cannot read ${file}: ${(error as Error).message}`);
  }
}

function smtpError(error: unknown, where: string, user: string | undefined, timeoutSeconds: number): Error {
  const e = error as { code?: string; response?: string; message?: string };
  const said = (e.response ?? e.message ?? String(error)).split('\n')[0];
  if (e.code === 'EAUTH') {
    return new ConfigError(`${where}: the server refused the login as ${user ?? '(none)'}: ${said}`, { cause: error });
  }
  if (e.code === 'ETIMEDOUT') {
    return new TransientError(`${where}: no answer within ${timeoutSeconds} s (${said})`, { cause: error });
  }
  if (/certificate|self.signed|unable to verify/i.test(said ?? '')) {
    return new ConfigError(
      `${where}: the server's TLS certificate is not trusted (${said}); for a private CA set ca: to its PEM file`,
      { cause: error },
    );
  }
  if (e.code === 'ETLS' || /STARTTLS/i.test(said ?? '')) {
    return new ConfigError(`${where}: TLS could not be set up (${said}); set secure: true for port 465`, {
      cause: error,
    });
  }
  const kind = e.code !== undefined && PERMANENT.has(e.code) ? ConfigError : TransientError;
  return new kind(`${where} could not be sent: ${e.code ? `${e.code}: ` : ''}${said}`, { cause: error });
}
