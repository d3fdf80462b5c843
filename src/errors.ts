/**
 * The error names of stepvault. Lambda reports `error.name` as the error type, and the state
 * machine's Retry and Catch match on it, so a name here is part of the contract with
 * statemachine/backup.asl.json (a test checks that every name the ASL uses exists here).
 *
 * Retryable: the world may be different in a minute (network, throttling, a busy server).
 * Not retryable: trying again gives the same answer until a human changes something.
 * ERROR_NAMES below says which is which; a test holds the ASL's Retry blocks to it.
 */
export class StepvaultError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StepvaultError';
  }
}

/** The config is wrong: a missing field, an unknown target, an undefined secret, bad credentials. */
export class ConfigError extends StepvaultError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConfigError';
  }
}

/** The database could not be reached. */
export class ConnectionError extends StepvaultError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConnectionError';
  }
}

/** A destination could not be read or written for a reason that may pass. */
export class StorageError extends StepvaultError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StorageError';
  }
}

/** Anything else that is worth another try: a timeout, a throttled API. */
export class TransientError extends StepvaultError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TransientError';
  }
}

/** The dump tool failed or produced an incomplete dump. */
export class DumpError extends StepvaultError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DumpError';
  }
}

/** Bytes that were read back differ from the bytes that were written. */
export class ChecksumMismatchError extends StepvaultError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ChecksumMismatchError';
  }
}

/**
 * An encrypted backup that the identity given does not open, or whose ciphertext was altered or
 * cut short. Not retried: the same key and the same bytes give the same answer.
 */
export class DecryptionError extends StepvaultError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DecryptionError';
  }
}

/** The dump tool is older than the server it must dump. */
export class VersionMismatchError extends StepvaultError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'VersionMismatchError';
  }
}

/**
 * A publish found something already stored under its key that is not its own: nothing was
 * replaced. Not retried: the same key will hold the same object in a minute.
 */
export class ObjectExistsError extends StepvaultError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ObjectExistsError';
  }
}

/** Every error name the state machine may match, with whether it is retried. */
export const ERROR_NAMES = {
  ConfigError: false,
  ConnectionError: true,
  StorageError: true,
  TransientError: true,
  DumpError: false,
  ChecksumMismatchError: false,
  VersionMismatchError: false,
  ObjectExistsError: false,
  DecryptionError: false,
} as const satisfies Record<string, boolean>;

/** A one-line description of any thrown value, for logs and mails. */
export function describeError(error: unknown): { name: string; message: string } {
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: 'Error', message: String(error) };
}

/**
 * A restore failed after it had begun to change the database it restores into. Not a state
 * machine error: restore runs from the command line, which exits 1 and says what changed.
 */
export class PartialRestoreError extends StepvaultError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PartialRestoreError';
  }
}
