/**
 * Google Drive through `@googleapis/drive`, loaded when a Drive destination is first used. The
 * auth client is a service account's JWT (from its JSON key) or an OAuth client with a refresh
 * token; either fetches and renews its access tokens itself. Requests go through one fetch that
 * can point every Google host at another address (tests, proxies) and bounds each request's time;
 * `call` retries what may pass (429 after Retry-After, 5xx, a dropped connection).
 */
import type { drive_v3 } from '@googleapis/drive';

export type GdriveCredentials =
  | { serviceAccountKey: string }
  | { clientId: string; clientSecret: string; refreshToken: string };

export interface GdriveClientOptions {
  credentials: GdriveCredentials;
  /** One address for the Drive, upload and token APIs instead of Google's. */
  endpoint?: string;
  requestTimeoutMs?: number;
  attempts?: number;
  maxWaitMs?: number;
}

const SCOPES = ['https://www.googleapis.com/auth/drive'];
const GOOGLE_HOSTS = /^https:\/\/(www\.googleapis\.com|oauth2\.googleapis\.com|drive\.googleapis\.com)\//;

interface Loaded {
  drive: drive_v3.Drive;
  headers(): Promise<Headers>;
}

/** What gaxios throws for an HTTP error, as far as it is read here. */
export interface GoogleApiError {
  status?: number;
  response?: { status?: number; headers?: Headers | Record<string, string>; data?: unknown };
  message?: string;
  code?: string | number;
}

export function statusOf(error: unknown): number | undefined {
  const e = error as GoogleApiError;
  return e?.response?.status ?? (typeof e?.status === 'number' ? e.status : undefined);
}

export function reasonOf(error: unknown): string {
  const data = (error as GoogleApiError)?.response?.data as
    | { error?: { errors?: { reason?: string }[]; message?: string } | string; error_description?: string }
    | undefined;
  if (typeof data?.error === 'string') return data.error;
  return data?.error?.errors?.[0]?.reason ?? '';
}

export class GdriveClient {
  private loaded: Promise<Loaded> | undefined;
  private readonly options: Required<Omit<GdriveClientOptions, 'endpoint'>> & { endpoint?: string };

  constructor(options: GdriveClientOptions) {
    this.options = { requestTimeoutMs: 300_000, attempts: 5, maxWaitMs: 60_000, ...options };
  }

  /** The base of Drive's APIs, as URLs are written by hand (uploads, downloads). */
  get root(): string {
    return this.options.endpoint ? `${this.options.endpoint.replace(/\/$/, '')}/` : 'https://www.googleapis.com/';
  }

  async call<T>(request: (drive: drive_v3.Drive) => Promise<{ data: T }>): Promise<T> {
    const { drive } = await this.load();
    for (let attempt = 1; ; attempt++) {
      try {
        return (await request(drive)).data;
      } catch (error) {
        const wait = this.waitBeforeRetry(error, attempt);
        if (wait === undefined || attempt >= this.options.attempts) throw error;
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  }

  /** A request by hand with the current access token (the auth client renews it as needed). */
  async request(url: string, init: RequestInit = {}): Promise<Response> {
    const { headers } = await this.load();
    const auth = await headers();
    const merged = new Headers(init.headers);
    auth.forEach((value, name) => {
      merged.set(name, value);
    });
    return this.fetch(url, { ...init, headers: merged });
  }

  /** How long to wait before trying again, or undefined when this error will not pass by itself. */
  waitBeforeRetry(error: unknown, attempt: number): number | undefined {
    const backoff = Math.min(this.options.maxWaitMs, 500 * 2 ** (attempt - 1));
    const status = statusOf(error);
    if (status === undefined) {
      const name = (error as { name?: string })?.name;
      const code = (error as { code?: string })?.code;
      return name === 'TypeError' || name === 'TimeoutError' || code === 'ECONNRESET' || code === 'ECONNREFUSED'
        ? backoff
        : undefined;
    }
    if (
      status === 429 ||
      status === 503 ||
      (status === 403 && /rateLimitExceeded|userRateLimitExceeded/.test(reasonOf(error)))
    ) {
      const headers = (error as GoogleApiError).response?.headers;
      const value = headers instanceof Headers ? headers.get('retry-after') : headers?.['retry-after'];
      const seconds = Number(value);
      return value !== undefined && value !== null && Number.isFinite(seconds)
        ? Math.min(this.options.maxWaitMs, seconds * 1000)
        : backoff;
    }
    return status >= 500 ? backoff : undefined;
  }

  readonly fetch = (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const url = input instanceof Request ? input.url : String(input);
    const target = this.options.endpoint ? url.replace(GOOGLE_HOSTS, this.root) : url;
    const timeout = AbortSignal.timeout(this.options.requestTimeoutMs);
    const signal = init.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
    if (input instanceof Request) return globalThis.fetch(new Request(target, input), { ...init, signal });
    return globalThis.fetch(target, { ...init, signal });
  };

  private load(): Promise<Loaded> {
    // The package is CommonJS: its `default` is its module.exports both when Node imports it and
    // in an esbuild bundle, which gives no named exports for it (the Lambda packages, the CLI's).
    this.loaded ??= import('@googleapis/drive').then(({ default: { auth, drive } }) => {
      const transporterOptions = { fetchImplementation: this.fetch };
      const { credentials } = this.options;
      let client: InstanceType<typeof auth.JWT> | InstanceType<typeof auth.OAuth2>;
      if ('serviceAccountKey' in credentials) {
        const key = parseKey(credentials.serviceAccountKey);
        client = new auth.JWT({ email: key.client_email, key: key.private_key, scopes: SCOPES, transporterOptions });
      } else {
        client = new auth.OAuth2({
          clientId: credentials.clientId,
          clientSecret: credentials.clientSecret,
          transporterOptions,
        });
        client.setCredentials({ refresh_token: credentials.refreshToken });
      }
      return {
        drive: drive({ version: 'v3', auth: client, rootUrl: this.root }),
        headers: () => client.getRequestHeaders(),
      };
    });
    return this.loaded;
  }
}

function parseKey(text: string): { client_email: string; private_key: string } {
  let key: { client_email?: unknown; private_key?: unknown };
  try {
    key = JSON.parse(text);
  } catch {
    throw Object.assign(new Error('the service account key is not JSON (give the key file’s whole content)'), {
      name: 'KeyError',
    });
  }
  if (typeof key.client_email !== 'string' || typeof key.private_key !== 'string') {
    throw Object.assign(new Error('the service account key has no client_email or private_key'), { name: 'KeyError' });
  }
  return { client_email: key.client_email, private_key: key.private_key };
}
