/**
 * Klarna's (or Kustom's) Order Management API: which host (configuration), which credentials
 * (HTTP Basic with a username and password, or a Kustom API key), and the two calls the order's
 * life needs: read an order, acknowledge it. Every call has a timeout inside the caller's
 * deadline; 5xx, 429, timeouts and network errors are retried with backoff while the deadline
 * allows; 404 is final. Failures come back as values, never as throws.
 */
import { createHash } from 'node:crypto';
import { version } from '../../package.json';
import { httpBaseUrl, intEnv, optionalEnv } from '../shared/config.js';
import { prefetchSecretJson, readSecretJson } from '../shared/secrets.js';
import { omOrderSchema, type OmOrder } from './order.js';

export const USER_AGENT = `klarna-serverless/${version}`;

// --- Hosts ----------------------------------------------------------------------------------

export const omProviders = ['kustom', 'klarna'] as const;
export const omRegions = ['eu', 'na', 'oc'] as const;
export const omEnvironments = ['playground', 'production'] as const;
export type OmProvider = (typeof omProviders)[number];
export type OmRegion = (typeof omRegions)[number];
export type OmEnvironment = (typeof omEnvironments)[number];

/** Kustom runs Klarna Checkout since 2025; Klarna's regional hosts still serve older accounts. */
const KUSTOM_HOSTS: Record<OmEnvironment, string> = {
  production: 'https://api.kustom.co',
  playground: 'https://api.playground.kustom.co',
};
const KLARNA_HOSTS: Record<OmRegion, Record<OmEnvironment, string>> = {
  eu: { production: 'https://api.klarna.com', playground: 'https://api.playground.klarna.com' },
  na: { production: 'https://api-na.klarna.com', playground: 'https://api-na.playground.klarna.com' },
  oc: { production: 'https://api-oc.klarna.com', playground: 'https://api-oc.playground.klarna.com' },
};

const oneOf = <T extends string>(name: string, values: readonly T[], value: string): T => {
  const lower = value.toLowerCase();
  if (!(values as readonly string[]).includes(lower)) throw new Error(`${name} must be one of ${values.join(', ')}, got "${value}"`);
  return lower as T;
};

/**
 * KCO_API_BASE_URL outright (a stand-in, a proxy), else the host for KCO_API_PROVIDER (kustom by
 * default), KCO_API_ENVIRONMENT (playground by default: production only when told) and, for
 * Klarna, KCO_API_REGION (eu by default).
 */
export const resolveOmBaseUrl = (settings: {
  baseUrl?: string | undefined;
  provider?: string | undefined;
  region?: string | undefined;
  environment?: string | undefined;
}): string => {
  if (settings.baseUrl !== undefined) return httpBaseUrl(settings.baseUrl, 'KCO_API_BASE_URL');
  const provider = oneOf('KCO_API_PROVIDER', omProviders, settings.provider ?? 'kustom');
  const environment = oneOf('KCO_API_ENVIRONMENT', omEnvironments, settings.environment ?? 'playground');
  if (provider === 'kustom') {
    if (settings.region !== undefined) throw new Error('KCO_API_REGION applies to Klarna only; Kustom has one host per environment');
    return KUSTOM_HOSTS[environment];
  }
  return KLARNA_HOSTS[oneOf('KCO_API_REGION', omRegions, settings.region ?? 'eu')][environment];
};

// --- Credentials ----------------------------------------------------------------------------

/**
 * The Authorization header: Basic base64(username:password), or a Kustom API key
 * (`kco_live_api_…`), which Kustom takes as `Basic <key>` as it stands.
 */
/** The credentials are there but empty (a fresh stack's secret): no call can succeed until filled in. */
export class CredentialsMissing extends Error {
  override name = 'CredentialsMissing';
}

export const authorizationFrom = (values: { username?: unknown; password?: unknown; api_key?: unknown }): string => {
  const text = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);
  const apiKey = text(values.api_key);
  if (apiKey !== undefined) return `Basic ${apiKey}`;
  const username = text(values.username);
  const password = typeof values.password === 'string' && values.password !== '' ? values.password : undefined;
  if (username === undefined || password === undefined) throw new CredentialsMissing('Order Management credentials need an api_key, or a username and a password');
  return `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
};

// --- Idempotency ----------------------------------------------------------------------------

// A fixed namespace of our own: the same order and operation always give the same key.
const NAMESPACE = Buffer.from('6f1c1c5e2d8a4b3f9a7e0b1d2c3e4f50', 'hex');

/**
 * `Klarna-Idempotency-Key` for an operation on an order: a name-based UUID (version 5) of the order
 * id and the operation, so every retry, from any container, sends the same key and Klarna answers
 * a repeat as it answered the first.
 */
export const idempotencyKey = (orderId: string, operation: string): string => {
  const hash = createHash('sha1').update(NAMESPACE).update(`${orderId}:${operation}`, 'utf8').digest();
  hash[6] = ((hash[6] ?? 0) & 0x0f) | 0x50;
  hash[8] = ((hash[8] ?? 0) & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
};

// --- Calls ----------------------------------------------------------------------------------

export type OmFailure = {
  kind: 'failed';
  /** `status`: Klarna answered an error; `invalid_response`: a 2xx we cannot read. */
  reason: 'timeout' | 'network' | 'status' | 'invalid_response' | 'deadline' | 'credentials_missing';
  status?: number;
  error_code?: string;
  attempts: number;
};
export type OmResult<T> = { kind: 'ok'; value: T; attempts: number } | { kind: 'not_found'; attempts: number } | OmFailure;

/** The port the lifecycle depends on. `deadline`: epoch ms by which every attempt has ended. */
export interface OrderManagement {
  getOrder(orderId: string, deadline: number): Promise<OmResult<OmOrder>>;
  acknowledge(orderId: string, deadline: number): Promise<OmResult<undefined>>;
}

export type OmClientOptions = {
  readonly baseUrl: string;
  readonly authorization: () => Promise<string>;
  /** Per attempt; an attempt never outlives the deadline either. */
  readonly timeoutMs: number;
  readonly maxAttempts: number;
  /** First pause between attempts; doubled each time (with jitter). */
  readonly backoffMs: number;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
};

/** An attempt needs at least this long to be worth starting. */
const MIN_ATTEMPT_MS = 50;

const isRetryableStatus = (status: number): boolean => status === 429 || status >= 500;

const retryAfterMs = (header: string | null): number | undefined => {
  if (header === null) return undefined;
  const seconds = Number(header);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
};

const errorCodeOf = (body: string): string | undefined => {
  try {
    const parsed = JSON.parse(body) as { error_code?: unknown };
    return typeof parsed.error_code === 'string' ? parsed.error_code.slice(0, 64) : undefined;
  } catch {
    return undefined;
  }
};

/** What Klarna answered: the status, the body and the headers (`Retry-After`, `Capture-Id`, `Location`). */
type OmAnswer = { status: number; body: string; headers: Headers };

const sleepFor = (ms: number): Promise<void> => new Promise<void>((r) => setTimeout(r, ms));

type AttemptFailure = { kind: 'error'; reason: 'timeout' | 'network' | 'credentials_missing' };

const failureOf = (error: unknown, signal: AbortSignal): 'timeout' | 'network' => {
  const name = (error as { name?: string } | undefined)?.name;
  return signal.aborted || name === 'TimeoutError' || name === 'AbortError' ? 'timeout' : 'network';
};

/**
 * Attempts a request until an answer that is not worth retrying, the attempts run out or the
 * deadline nears: 429, 5xx, timeouts and network errors again (after Retry-After, else a doubling
 * pause with jitter), 404 as not_found, other 4xx and credentials_missing final. Both clients
 * retry this way; `attempt` makes one request within `timeoutMs`.
 */
const sendWithRetries = async <T>(
  options: OmClientOptions,
  attempt: (timeoutMs: number) => Promise<OmAnswer | AttemptFailure>,
  deadline: number,
  read: (answer: OmAnswer) => T | 'invalid',
): Promise<OmResult<T>> => {
  const { now = Date.now, sleep = sleepFor, random = Math.random } = options;
  let last: OmFailure = { kind: 'failed', reason: 'deadline', attempts: 0 };
  for (let attempts = 1; attempts <= options.maxAttempts; attempts += 1) {
    const remaining = deadline - now();
    if (remaining < MIN_ATTEMPT_MS) return { ...last, reason: last.attempts === 0 ? 'deadline' : last.reason };
    const result = await attempt(Math.min(options.timeoutMs, remaining));
    let retryAfter: number | undefined;
    if ('kind' in result) {
      last = { kind: 'failed', reason: result.reason, attempts };
      if (result.reason === 'credentials_missing') return last;
    } else if (result.status === 404) {
      return { kind: 'not_found', attempts };
    } else if (result.status >= 200 && result.status < 300) {
      const value = read(result);
      if (value === 'invalid') return { kind: 'failed', reason: 'invalid_response', status: result.status, attempts };
      return { kind: 'ok', value, attempts };
    } else {
      const code = errorCodeOf(result.body);
      last = { kind: 'failed', reason: 'status', status: result.status, ...(code ? { error_code: code } : {}), attempts };
      if (!isRetryableStatus(result.status)) return last;
      retryAfter = retryAfterMs(result.headers.get('retry-after'));
    }
    if (attempts === options.maxAttempts) break;
    const pause = retryAfter ?? options.backoffMs * 2 ** (attempts - 1) * (0.5 + random() / 2);
    if (now() + pause + MIN_ATTEMPT_MS > deadline) break;
    await sleep(pause);
  }
  return last;
};

/**
 * One request within `timeoutMs`, as both clients make it: the credentials first (empty ones end
 * as credentials_missing, not as a network failure: no retry helps, an operator must fill them
 * in), then the call with Klarna's headers, and with a JSON body when there is one.
 */
const attemptWith =
  (options: OmClientOptions, method: 'GET' | 'POST', path: string, headers: Record<string, string>, body?: unknown) =>
  async (timeoutMs: number): Promise<OmAnswer | AttemptFailure> => {
    const signal = AbortSignal.timeout(timeoutMs);
    let authorization: string;
    try {
      authorization = await options.authorization();
    } catch (error) {
      return { kind: 'error', reason: error instanceof CredentialsMissing ? 'credentials_missing' : 'network' };
    }
    try {
      const response = await fetch(`${options.baseUrl}${path}`, {
        method,
        headers: {
          authorization,
          'user-agent': USER_AGENT,
          accept: 'application/json',
          ...headers,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal,
      });
      return { status: response.status, body: await response.text(), headers: response.headers };
    } catch (error) {
      return { kind: 'error', reason: failureOf(error, signal) };
    }
  };

export const createOrderManagementClient = (options: OmClientOptions): OrderManagement => {
  const attempt = (method: 'GET' | 'POST', path: string, headers: Record<string, string>) => attemptWith(options, method, path, headers);
  const orderPath = (orderId: string): string => `/ordermanagement/v1/orders/${encodeURIComponent(orderId)}`;

  return {
    getOrder: (orderId, deadline) =>
      sendWithRetries(options, attempt('GET', orderPath(orderId), {}), deadline, ({ body }) => {
        let json: unknown;
        try {
          json = JSON.parse(body);
        } catch {
          return 'invalid';
        }
        const parsed = omOrderSchema.safeParse(json);
        // An order under another id is not the order we asked for.
        return parsed.success && parsed.data.order_id === orderId ? parsed.data : 'invalid';
      }),
    acknowledge: (orderId, deadline) =>
      sendWithRetries(options, attempt('POST', `${orderPath(orderId)}/acknowledge`, { 'klarna-idempotency-key': idempotencyKey(orderId, 'acknowledge') }), deadline, () => undefined),
  };
};

// --- Configuration --------------------------------------------------------------------------

export type OmConfig = Omit<OmClientOptions, 'now' | 'sleep' | 'random'> & {
  /** Starts reading the credentials' secret now, when they come from one (else nothing). */
  readonly prefetch?: () => void;
};

/** What a stand-in at KCO_API_BASE_URL is sent when no credentials are configured. */
export const LOCAL_CREDENTIALS = { username: 'local', password: 'local' } as const;

/**
 * Starts reading the Order Management credentials (the push and notification handlers call it when
 * they load, and again on their first request in case the extension could not answer at load):
 * from Secrets Manager, the read runs beside the token check and the order's GetItem instead of
 * after them, and the first Klarna call awaits the same read. Where the credentials come from is
 * `readOmConfig`'s decision alone; a configuration it refuses, or a failed read, is reported by
 * the first request, as without this.
 */
export const prefetchOmCredentials = (): void => {
  try {
    readOmConfig().prefetch?.();
  } catch {
    // Refused configuration: the first request's readOmConfig throws it where it is logged.
  }
};

/**
 * Read at cold start. Credentials: KCO_API_KEY, or KCO_API_USERNAME + KCO_API_PASSWORD, else the
 * JSON secret named by KCO_API_CREDENTIALS_SECRET_ARN (`api_key`, or `username` and `password`),
 * read on first use; for a KCO_API_BASE_URL without any, `local:local`. Klarna's or Kustom's own
 * hosts without credentials: the function fails at cold start.
 */
export const readOmConfig = (): OmConfig => {
  const explicitBase = optionalEnv('KCO_API_BASE_URL');
  const baseUrl = resolveOmBaseUrl({
    baseUrl: explicitBase,
    provider: optionalEnv('KCO_API_PROVIDER'),
    region: optionalEnv('KCO_API_REGION'),
    environment: optionalEnv('KCO_API_ENVIRONMENT'),
  });
  const timeouts = {
    timeoutMs: intEnv('KCO_API_TIMEOUT_MS', 2500, { min: 50, max: 10_000 }),
    maxAttempts: intEnv('KCO_API_MAX_ATTEMPTS', 3, { min: 1, max: 6 }),
    backoffMs: intEnv('KCO_API_BACKOFF_MS', 200, { min: 0, max: 5000 }),
  };
  const inline = { api_key: optionalEnv('KCO_API_KEY'), username: optionalEnv('KCO_API_USERNAME'), password: process.env.KCO_API_PASSWORD };
  if (inline.api_key !== undefined || inline.username !== undefined) {
    const header = Promise.resolve(authorizationFrom(inline));
    return { baseUrl, ...timeouts, authorization: () => header };
  }
  const secretArn = optionalEnv('KCO_API_CREDENTIALS_SECRET_ARN');
  if (secretArn === undefined) {
    if (explicitBase === undefined) throw new Error('Missing KCO_API_KEY, KCO_API_USERNAME/KCO_API_PASSWORD or KCO_API_CREDENTIALS_SECRET_ARN');
    const local = Promise.resolve(authorizationFrom(LOCAL_CREDENTIALS));
    return { baseUrl, ...timeouts, authorization: () => local };
  }
  return {
    baseUrl,
    ...timeouts,
    authorization: async () => authorizationFrom(await readSecretJson(secretArn)),
    prefetch: () => prefetchSecretJson(secretArn),
  };
};

// --- Commands (capture, refund, cancel, release, extend, shipping info) -----------------------

/** `shipping_info[]` of a capture, as Klarna takes it. */
export type KlarnaShippingInfo = {
  shipping_company?: string;
  shipping_method?: string;
  tracking_number?: string;
  tracking_uri?: string;
  return_shipping_company?: string;
  return_tracking_number?: string;
  return_tracking_uri?: string;
};

export type KlarnaCaptureBody = {
  captured_amount: number;
  order_lines?: readonly Record<string, unknown>[];
  reference?: string;
  description?: string;
  shipping_info?: readonly KlarnaShippingInfo[];
};
export type KlarnaRefundBody = {
  refunded_amount: number;
  order_lines?: readonly Record<string, unknown>[];
  reference?: string;
  description?: string;
};

/** The calls the command use cases make; every one carries the caller's idempotency key. */
export interface OrderCommands {
  capture(orderId: string, body: KlarnaCaptureBody, key: string, deadline: number): Promise<OmResult<{ capture_id: string }>>;
  refund(orderId: string, body: KlarnaRefundBody, key: string, deadline: number): Promise<OmResult<{ refund_id: string }>>;
  cancel(orderId: string, key: string, deadline: number): Promise<OmResult<undefined>>;
  releaseRemainingAuthorization(orderId: string, key: string, deadline: number): Promise<OmResult<undefined>>;
  extendAuthorizationTime(orderId: string, key: string, deadline: number): Promise<OmResult<undefined>>;
  addShippingInfo(orderId: string, captureId: string, shippingInfo: readonly KlarnaShippingInfo[], key: string, deadline: number): Promise<OmResult<undefined>>;
  /** Klarna's order as it stands (the new `expires_at` after an extension). */
  getOrder(orderId: string, deadline: number): Promise<OmResult<OmOrder>>;
}

/**
 * The commands' client: the same hosts, credentials, timeouts and bounded retries as the
 * lifecycle's calls (429, 5xx, timeouts and network errors again with the same idempotency key,
 * so Klarna answers a repeat as the first; 4xx final), plus a JSON body and the answer's headers
 * (`Capture-Id`, `Refund-Id`).
 */
export const createOrderCommandsClient = (options: OmClientOptions): OrderCommands => {
  const lifecycle = createOrderManagementClient(options);
  const orderPath = (orderId: string): string => `/ordermanagement/v1/orders/${encodeURIComponent(orderId)}`;

  const post = <T>(path: string, key: string, body: unknown, deadline: number, read: (answer: OmAnswer) => T | 'invalid'): Promise<OmResult<T>> =>
    sendWithRetries(options, attemptWith(options, 'POST', path, { 'klarna-idempotency-key': key }, body), deadline, read);

  /** An id from a header (or the last segment of Location): visible ASCII, at most 255. */
  const idFrom = (answer: OmAnswer, header: string): string | 'invalid' => {
    const value = answer.headers.get(header) ?? answer.headers.get('location')?.split('/').filter(Boolean).at(-1);
    return value !== undefined && /^[\x21-\x7e]{1,255}$/.test(value) ? value : 'invalid';
  };
  const noContent = (): undefined => undefined;

  return {
    capture: (orderId, body, key, deadline) =>
      post(`${orderPath(orderId)}/captures`, key, body, deadline, (answer) => {
        const id = idFrom(answer, 'capture-id');
        return id === 'invalid' ? id : { capture_id: id };
      }),
    refund: (orderId, body, key, deadline) =>
      post(`${orderPath(orderId)}/refunds`, key, body, deadline, (answer) => {
        const id = idFrom(answer, 'refund-id');
        return id === 'invalid' ? id : { refund_id: id };
      }),
    cancel: (orderId, key, deadline) => post(`${orderPath(orderId)}/cancel`, key, undefined, deadline, noContent),
    releaseRemainingAuthorization: (orderId, key, deadline) => post(`${orderPath(orderId)}/release-remaining-authorization`, key, undefined, deadline, noContent),
    extendAuthorizationTime: (orderId, key, deadline) => post(`${orderPath(orderId)}/extend-authorization-time`, key, undefined, deadline, noContent),
    addShippingInfo: (orderId, captureId, shippingInfo, key, deadline) =>
      post(`${orderPath(orderId)}/captures/${encodeURIComponent(captureId)}/shipping-info`, key, { shipping_info: shippingInfo }, deadline, noContent),
    getOrder: (orderId, deadline) => lifecycle.getOrder(orderId, deadline),
  };
};
