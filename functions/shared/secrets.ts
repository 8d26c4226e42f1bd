/**
 * Secrets from AWS Secrets Manager, read through the AWS Parameters and Secrets Lambda Extension
 * (a layer the stack adds to every function that reads one): the KCO callback tokens, the OSM
 * credentials and the Order Management credentials.
 *
 * - Every call is bounded: each attempt SECRETS_REQUEST_TIMEOUT_MS (700), all attempts together
 *   SECRETS_DEADLINE_MS (1000), well inside Klarna's 3 s.
 * - The first read of a container is awaited. After SECRETS_CACHE_SECONDS (300) the cached value
 *   keeps serving while one refresh runs in the background, so a slow or hanging Secrets Manager
 *   never holds a shopper's request once a value is known.
 * - A refresh that fails keeps the last good value up to SECRETS_MAX_AGE_SECONDS (3600) after it
 *   was read; past that the secret is unavailable (SecretUnavailable) and the callers fail closed.
 * - A value that is not the expected JSON counts as a failed read and is logged with a fixed text
 *   and the secret's name: never any part of the value (a parser's message would quote it).
 *
 * Locally and in tests the same values can come from plain environment variables instead.
 */
import { request } from 'node:http';
import { intEnv, optionalEnv } from './config.js';
import { describeError, logger } from './log.js';

/** The secret cannot be read (or not as the expected JSON) and no value young enough is cached. */
export class SecretUnavailable extends Error {
  override name = 'SecretUnavailable';
}

/** A value that came back but is not the JSON its parser expects (its message names no part of it). */
class NotTheExpectedJson extends Error {
  override name = 'NotTheExpectedJson';
}

/**
 * Fetches one secret's SecretString; rejects on any failure, timeouts included. `deadlineAt`
 * (epoch ms), when given, ends the fetch earlier than its own deadline would.
 */
export type SecretFetcher = (secretArn: string, deadlineAt?: number) => Promise<string | undefined>;

export type SecretCacheOptions = {
  readonly fetch: SecretFetcher;
  /** Age after which a read value is refreshed in the background while it keeps serving. */
  readonly refreshAfterMs: number;
  /** Age after which a value no longer serves, however its refreshes fail. */
  readonly maxAgeMs: number;
  /** Milliseconds since the epoch; injectable for tests. */
  readonly now: () => number;
  /**
   * One bound on a call's wait for the secret: a first call that waited on the load-time read
   * (prefetch) and found it failed reads again only within what is left of it, so the two reads
   * never take twice the bound back to back. Unset: each read has the fetcher's own deadline.
   */
  readonly callBoundMs?: number;
};

/** The value's shape check: the value when it is as expected, else undefined. */
export type SecretParser<T> = (json: unknown) => T | undefined;

/** `arn:aws:secretsmanager:…:secret:KcoCallbackTokens-AbCdEf` → `KcoCallbackTokens-AbCdEf`. */
export const secretName = (secretArn: string): string => secretArn.split(':').slice(6).join(':') || secretArn;

/**
 * One secret, cached per container: returns the function that reads it as described above.
 * Concurrent reads share one request.
 */
export type SecretReader<T> = {
  (): Promise<T>;
  /** True when a call would answer from memory, without waiting for Secrets Manager. */
  readonly ready: () => boolean;
  /**
   * Starts the first read now, without waiting for it and without logging its failure; the first
   * call awaits it, and reads again itself if it failed. Nothing once a value or a read exists.
   */
  readonly prefetch: () => void;
};

export const cachedSecret = <T>(secretArn: string, parse: SecretParser<T>, options: SecretCacheOptions): SecretReader<T> => {
  const name = secretName(secretArn);
  let good: { readonly value: T; readonly readAt: number } | undefined;
  let inFlight: Promise<T> | undefined;

  // One request and the shape check; the callers log (or, for a prefetch, do not).
  const read = async (deadlineAt?: number): Promise<T> => {
    const text = await options.fetch(secretArn, deadlineAt);
    let value: T | undefined;
    try {
      value = parse(JSON.parse(text ?? ''));
    } catch {
      value = undefined;
    }
    if (value === undefined) throw new NotTheExpectedJson(`secret ${name} is not the expected JSON`);
    return value;
  };

  const refresh = (deadlineAt?: number): Promise<T> =>
    (inFlight ??= read(deadlineAt)
      .then(
        (value) => {
          good = { value, readAt: options.now() };
          return value;
        },
        (error: unknown) => {
          if (error instanceof NotTheExpectedJson) {
            logger.error('secret is not the expected JSON', { secret: name });
            throw new SecretUnavailable(error.message);
          }
          const age = good === undefined ? {} : { last_good_age_ms: options.now() - good.readAt };
          logger.warn('secret read failed', { secret: name, ...age, ...describeError(error) });
          throw new SecretUnavailable(`secret ${name} could not be read`);
        },
      )
      .finally(() => {
        inFlight = undefined;
      }));

  // A read started before anyone asks (at a container's load). It never logs: where the extension
  // does not answer yet (Lambda's init phase may be too early for it) or anything else fails, it
  // is forgotten, and the first call reads again, logging as every read does.
  let early: Promise<void> | undefined;
  const prefetch = (): void => {
    if (good !== undefined || inFlight !== undefined || early !== undefined) return;
    early = read().then(
      (value) => {
        good ??= { value, readAt: options.now() };
      },
      () => {
        early = undefined;
      },
    );
  };

  const servable = (now: number): boolean => good !== undefined && now - good.readAt < options.maxAgeMs;
  const reader = async (): Promise<T> => {
    const called = options.now();
    const waitedOnEarly = good === undefined && early !== undefined;
    if (waitedOnEarly) await early;
    const now = options.now();
    if (good !== undefined && servable(now)) {
      // Failures are logged by refresh(); the last good value serves meanwhile.
      if (now - good.readAt >= options.refreshAfterMs) refresh().catch(() => undefined);
      return good.value;
    }
    return refresh(waitedOnEarly && options.callBoundMs !== undefined ? called + options.callBoundMs : undefined);
  };
  return Object.assign(reader, { ready: () => servable(options.now()), prefetch });
};

/** The extension's port when the stack does not set PARAMETERS_SECRETS_EXTENSION_HTTP_PORT. */
export const EXTENSION_DEFAULT_PORT = 2773;

export type ExtensionFetcherOptions = {
  /** The extension's HTTP port on localhost. */
  readonly port: number;
  /** Each attempt, connecting included. */
  readonly requestTimeoutMs: number;
  /** All attempts together. */
  readonly deadlineMs: number;
  /** The extension's SSRF guard: the container's AWS_SESSION_TOKEN, sent with every request. */
  readonly sessionToken: () => string | undefined;
};

/** One answer of the extension that is not a secret: its status only (a body could quote anything). */
class ExtensionRefused extends Error {
  override name = 'ExtensionRefused';
  constructor(readonly status: number) {
    super(`the Parameters and Secrets extension answered ${status}`);
  }
}

/**
 * GetSecretValue through the AWS Parameters and Secrets Lambda Extension: a plain HTTP GET on
 * localhost, which the extension signs and sends to Secrets Manager. No SDK client in the bundle
 * (its 29 KiB were parsed at every cold start) and no signing on our side. `node:http`, which the
 * DynamoDB client has already loaded, rather than `fetch`, whose first use loads undici.
 * Two attempts at most, the second only for a failure that may pass (no answer, or 5xx) and only
 * while the deadline allows; the extension's own answer is never logged or thrown, only its status.
 */
export const extensionFetcher = (options: ExtensionFetcherOptions): SecretFetcher => {
  const attempt = (secretArn: string, signal: AbortSignal): Promise<string | undefined> =>
    new Promise((resolve, reject) => {
      const token = options.sessionToken();
      const req = request(
        {
          host: 'localhost',
          port: options.port,
          path: `/secretsmanager/get?secretId=${encodeURIComponent(secretArn)}`,
          headers: token === undefined ? {} : { 'X-Aws-Parameters-Secrets-Token': token },
          timeout: options.requestTimeoutMs,
          signal,
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('error', reject);
          response.on('end', () => {
            const status = response.statusCode ?? 0;
            if (status !== 200) return reject(new ExtensionRefused(status));
            let secretString: unknown;
            try {
              secretString = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { SecretString?: unknown } | null)?.SecretString;
            } catch {
              // A parser's message would quote the body: a fixed text instead.
              return reject(new Error('the Parameters and Secrets extension answered a body that is not JSON'));
            }
            resolve(typeof secretString === 'string' ? secretString : undefined);
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer from the Parameters and Secrets extension within ${options.requestTimeoutMs} ms`)));
      req.on('error', reject);
      req.end();
    });
  const mayPass = (error: unknown): boolean => !(error instanceof ExtensionRefused) || error.status >= 500;
  return async (secretArn, deadlineAt) => {
    const left = deadlineAt === undefined ? options.deadlineMs : Math.min(options.deadlineMs, deadlineAt - Date.now());
    if (left <= 0) throw new Error('no time left to read the secret');
    const signal = AbortSignal.timeout(left);
    try {
      return await attempt(secretArn, signal);
    } catch (error) {
      if (signal.aborted || !mayPass(error)) throw error;
      return attempt(secretArn, signal);
    }
  };
};

// ---- The container's secrets, configured from the environment at cold start. ----

const refreshSeconds = intEnv('SECRETS_CACHE_SECONDS', 300, { min: 1, max: 86_400 });
const secretsDeadlineMs = intEnv('SECRETS_DEADLINE_MS', 1000, { min: 10, max: 2500 });
const containerOptions: SecretCacheOptions = {
  fetch: extensionFetcher({
    port: intEnv('PARAMETERS_SECRETS_EXTENSION_HTTP_PORT', EXTENSION_DEFAULT_PORT, { min: 1, max: 65_535 }),
    requestTimeoutMs: intEnv('SECRETS_REQUEST_TIMEOUT_MS', 700, { min: 10, max: 2500 }),
    deadlineMs: secretsDeadlineMs,
    sessionToken: () => optionalEnv('AWS_SESSION_TOKEN'),
  }),
  // The load-time read and the first call's share SECRETS_DEADLINE_MS (1 s), not 1 s each.
  callBoundMs: secretsDeadlineMs,
  refreshAfterMs: refreshSeconds * 1000,
  maxAgeMs: intEnv('SECRETS_MAX_AGE_SECONDS', Math.max(3600, refreshSeconds), { min: refreshSeconds, max: 7 * 86_400 }) * 1000,
  now: Date.now,
};

const readers = new Map<SecretParser<unknown>, Map<string, SecretReader<unknown>>>();
const containerReader = <T>(secretArn: string, parse: SecretParser<T>): SecretReader<T> => {
  let byArn = readers.get(parse);
  if (!byArn) readers.set(parse, (byArn = new Map()));
  let reader = byArn.get(secretArn);
  if (!reader) byArn.set(secretArn, (reader = cachedSecret(secretArn, parse, containerOptions)));
  return reader as SecretReader<T>;
};

const isJsonObject = (json: unknown): json is Record<string, unknown> =>
  typeof json === 'object' && json !== null && !Array.isArray(json);

const jsonObject: SecretParser<Record<string, unknown>> = (json) => (isJsonObject(json) ? json : undefined);

/** A secret holding a JSON object (the OSM and Order Management credentials), cached as above. */
export const readSecretJson = (secretArn: string): Promise<Record<string, unknown>> => containerReader(secretArn, jsonObject)();

/** Starts reading such a secret at a container's load (see SecretReader.prefetch). */
export const prefetchSecretJson = (secretArn: string): void => containerReader(secretArn, jsonObject).prefetch();

const splitList = (value: string): string[] =>
  value
    .split(',')
    .map((token) => token.trim())
    .filter((token) => token.length > 0);

/** `{"tokens": ["…", …]}` (or one comma-separated string); anything else is not the expected JSON. */
export const parseCallbackTokens: SecretParser<readonly string[]> = (json) => {
  if (!isJsonObject(json)) return undefined;
  const { tokens } = json;
  if (typeof tokens === 'string') return splitList(tokens);
  if (Array.isArray(tokens) && tokens.every((token): token is string => typeof token === 'string')) {
    return tokens.filter((token) => token.length > 0);
  }
  return undefined;
};

/**
 * The reader of the tokens' secret when the tokens come from it: `KCO_CALLBACK_TOKENS_SECRET_ARN`
 * is set and `KCO_CALLBACK_TOKENS` is not. Undefined for inline tokens or none configured. The one
 * place that chooses between the two.
 */
const callbackTokensSecret = (): SecretReader<readonly string[]> | undefined => {
  if (optionalEnv('KCO_CALLBACK_TOKENS') !== undefined) return undefined;
  const arn = optionalEnv('KCO_CALLBACK_TOKENS_SECRET_ARN');
  return arn === undefined ? undefined : containerReader(arn, parseCallbackTokens);
};

/**
 * The accepted KCO callback tokens: `KCO_CALLBACK_TOKENS` (comma-separated) when set, else the
 * `tokens` array of the secret named by `KCO_CALLBACK_TOKENS_SECRET_ARN`. No tokens configured
 * means every callback is refused: the check fails closed. Rejects with SecretUnavailable when the
 * secret cannot be read and no value young enough is cached.
 */
export const callbackTokens = async (): Promise<readonly string[]> => {
  const secret = callbackTokensSecret();
  if (secret !== undefined) return secret();
  const inline = optionalEnv('KCO_CALLBACK_TOKENS');
  return inline === undefined ? [] : splitList(inline);
};

/**
 * True while the tokens can only be known by waiting for Secrets Manager: a cold container (or
 * one whose last good value is too old) with the tokens in the secret. Inline tokens are always
 * known; no tokens configured at all is known too (every callback is refused).
 */
export const callbackTokensPending = (): boolean => {
  const secret = callbackTokensSecret();
  return secret !== undefined && !secret.ready();
};

/**
 * Starts reading the tokens when a handler module loads, where they come from Secrets Manager:
 * the request is under way while the rest of the container loads, and the first callback awaits
 * it (see SecretReader.prefetch: if the extension could not answer yet, the first callback reads
 * them itself).
 */
export const prefetchCallbackTokens = (): void => {
  callbackTokensSecret()?.prefetch();
};
