/**
 * The Dropbox SDK, loaded when a Dropbox destination is first used (other destinations' runs never
 * load it), with the app's key, secret and refresh token: the SDK fetches a short-lived access
 * token from the refresh token, and again when it nears expiry. Every call goes through `call`,
 * which waits out a 429 for as long as Retry-After says, retries what may pass (5xx, a dropped
 * connection) a few times, gets a fresh access token once on an expired one, and otherwise throws
 * the SDK's error for the provider to name.
 */
import type { Dropbox, DropboxAuth } from 'dropbox';

export interface DropboxCredentials {
  appKey: string;
  appSecret: string;
  refreshToken: string;
}

export interface DropboxClientOptions {
  credentials: DropboxCredentials;
  /** Where the API is, instead of api.dropboxapi.com and content.dropboxapi.com (one server for both). */
  endpoint?: string;
  /** How long one request may take, connection to last byte (an upload chunk included). */
  requestTimeoutMs?: number;
  /** Attempts of one call that keeps failing with errors that may pass. */
  attempts?: number;
  /** The longest wait for a Retry-After or a backoff (tests shorten it). */
  maxWaitMs?: number;
}

/** What the SDK throws for an HTTP error: the status, headers and Dropbox's JSON error. */
export interface DropboxApiError {
  name: 'DropboxResponseError';
  status: number;
  headers: Headers;
  error: { error_summary?: string; error?: Record<string, unknown> } | string;
}

export function isApiError(error: unknown): error is DropboxApiError {
  return (error as { name?: string })?.name === 'DropboxResponseError';
}

/** Dropbox's error_summary ("path/not_found/..."), or '' for an error that is not Dropbox's. */
export function errorSummary(error: unknown): string {
  if (!isApiError(error)) return '';
  if (typeof error.error === 'string') return error.error;
  return error.error?.error_summary ?? (error.error as { error?: string })?.error ?? '';
}

const HOSTS = /^https:\/\/(api|content)\.dropboxapi\.com\//;

export class DropboxClient {
  private sdk: Promise<{ dbx: Dropbox; auth: DropboxAuth }> | undefined;
  private readonly options: Required<Omit<DropboxClientOptions, 'endpoint'>> & { endpoint?: string };

  constructor(options: DropboxClientOptions) {
    this.options = { requestTimeoutMs: 300_000, attempts: 5, maxWaitMs: 60_000, ...options };
  }

  /** Runs `request` with the SDK, under the retry rules above. */
  async call<T>(request: (dbx: Dropbox) => Promise<{ result: T }>): Promise<T> {
    const { dbx, auth } = await this.load();
    let refreshed = false;
    for (let attempt = 1; ; attempt++) {
      try {
        return (await request(dbx)).result;
      } catch (error) {
        const summary = errorSummary(error);
        if (!refreshed && isApiError(error) && error.status === 401 && summary.startsWith('expired_access_token')) {
          refreshed = true;
          await auth.refreshAccessToken();
          attempt--;
          continue;
        }
        const wait = this.waitBeforeRetry(error, attempt);
        if (wait === undefined || attempt >= this.options.attempts) throw error;
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  }

  /** A fresh access token (the SDK's, refreshed when near expiry) for a request made by hand. */
  async accessToken(): Promise<string> {
    const { auth } = await this.load();
    await auth.checkAndRefreshAccessToken();
    return auth.getAccessToken();
  }

  /** The fetch every request goes through: to the configured endpoint, with a time limit. */
  readonly fetch = (url: string, init: RequestInit = {}): Promise<Response> => {
    const target = this.options.endpoint ? url.replace(HOSTS, `${this.options.endpoint.replace(/\/$/, '')}/`) : url;
    const timeout = AbortSignal.timeout(this.options.requestTimeoutMs);
    const signal = init.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
    return globalThis.fetch(target, { ...init, signal });
  };

  /** How long to wait before trying again, or undefined when this error will not pass by itself. */
  private waitBeforeRetry(error: unknown, attempt: number): number | undefined {
    const backoff = Math.min(this.options.maxWaitMs, 500 * 2 ** (attempt - 1));
    if (!isApiError(error)) {
      // A dropped connection or a timeout; a programming error would not be a TypeError from fetch.
      const name = (error as { name?: string })?.name;
      return name === 'TypeError' || name === 'TimeoutError' || name === 'FetchError' ? backoff : undefined;
    }
    if (error.status === 429 || error.status === 503) {
      const seconds = Number(error.headers?.get?.('retry-after'));
      return Number.isFinite(seconds) && seconds >= 0 ? Math.min(this.options.maxWaitMs, seconds * 1000) : backoff;
    }
    return error.status >= 500 ? backoff : undefined;
  }

  private load(): Promise<{ dbx: Dropbox; auth: DropboxAuth }> {
    this.sdk ??= import('dropbox').then(({ Dropbox, DropboxAuth }) => {
      const { appKey, appSecret, refreshToken } = this.options.credentials;
      const auth = new DropboxAuth({ clientId: appKey, clientSecret: appSecret, refreshToken, fetch: this.fetch });
      return { dbx: new Dropbox({ auth }), auth };
    });
    return this.sdk;
  }
}
