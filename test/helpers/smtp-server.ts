/**
 * A real SMTP server (the smtp-server package) on 127.0.0.1 that keeps every message it accepts,
 * raw, with the login it came with. TLS from the first byte (`secure`) or by STARTTLS; one
 * user and password are accepted, every other login is refused with 535 as real servers do.
 */
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  user: string | undefined;
  from: string;
  to: string[];
  /** Whether the session was encrypted when the message arrived. */
  secure: boolean;
  raw: string;
}

export interface SmtpTestServer {
  port: number;
  received: ReceivedMail[];
  logins: { user: string; accepted: boolean }[];
  close(): Promise<void>;
}

export async function startSmtpServer(options: {
  secure: boolean;
  key: string;
  cert: string;
  user: string;
  password: string;
}): Promise<SmtpTestServer> {
  const received: ReceivedMail[] = [];
  const logins: { user: string; accepted: boolean }[] = [];
  const server = new SMTPServer({
    secure: options.secure,
    key: options.key,
    cert: options.cert,
    logger: false,
    authMethods: ['PLAIN', 'LOGIN'],
    onAuth(auth, _session, callback) {
      const accepted = auth.username === options.user && auth.password === options.password;
      logins.push({ user: auth.username ?? '', accepted });
      if (!accepted) return callback(new Error('Invalid username or password'));
      callback(null, { user: auth.username });
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        received.push({
          user: session.user as string | undefined,
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          secure: session.secure,
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        callback();
      });
    },
  });
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as { port: number }).port;
  return { port, received, logins, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
