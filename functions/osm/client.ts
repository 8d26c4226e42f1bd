/**
 * Klarna's On-site messaging API, server side: which endpoint (region × environment, or
 * OSM_BASE_URL), which API version (v3 with a client id; v4 with a portal client identifier and
 * HTTP Basic API credentials), the request checks made before any call, and the call itself with a
 * timeout and the User-Agent Klarna requires (403 without one). Klarna's answer is reduced to its
 * documented fields; every failure comes back as a value, never as a throw.
 */
import * as z from 'zod/mini';
import { version } from '../../package.json';
import { httpBaseUrl, intEnv, optionalEnv } from '../shared/config.js';
import { prefetchSecretJson, readSecretJson } from '../shared/secrets.js';
import { safeHttpsUrl, type OsmContent, type OsmNode } from './render.js';

export const USER_AGENT = `klarna-serverless/${version}`;

// --- Endpoint -------------------------------------------------------------------------------

export const osmRegions = ['eu', 'na', 'oc'] as const;
export const osmEnvironments = ['playground', 'production'] as const;
export type OsmRegion = (typeof osmRegions)[number];
export type OsmEnvironment = (typeof osmEnvironments)[number];

const BASE_URLS: Record<OsmRegion, Record<OsmEnvironment, string>> = {
  eu: { playground: 'https://api.playground.klarna.com', production: 'https://api.klarna.com' },
  na: { playground: 'https://api-na.playground.klarna.com', production: 'https://api-na.klarna.com' },
  oc: { playground: 'https://api-oc.playground.klarna.com', production: 'https://api-oc.klarna.com' },
};

export const baseUrlFor = (region: OsmRegion, environment: OsmEnvironment): string => BASE_URLS[region][environment];

export type OsmEndpoint = {
  readonly baseUrl: string;
  /** Names the endpoint in cache keys: `environment|region`, or `custom|<base URL>`. */
  readonly id: string;
};

const isOneOf = <T extends string>(values: readonly T[], value: string): value is T => (values as readonly string[]).includes(value);

/**
 * OSM_BASE_URL outright (tests, the local server, a proxy), else Klarna's base for OSM_REGION and
 * OSM_ENVIRONMENT, which default to `eu` and `playground`: a deployment shows production messaging
 * only when told to.
 */
export const resolveEndpoint = (settings: {
  baseUrl?: string | undefined;
  region?: string | undefined;
  environment?: string | undefined;
}): OsmEndpoint => {
  if (settings.baseUrl !== undefined) {
    const baseUrl = httpBaseUrl(settings.baseUrl, 'OSM_BASE_URL');
    return { baseUrl, id: `custom|${baseUrl}` };
  }
  const region = (settings.region ?? 'eu').toLowerCase();
  const environment = (settings.environment ?? 'playground').toLowerCase();
  if (!isOneOf(osmRegions, region)) throw new Error(`OSM_REGION must be one of ${osmRegions.join(', ')}, got "${region}"`);
  if (!isOneOf(osmEnvironments, environment)) {
    throw new Error(`OSM_ENVIRONMENT must be one of ${osmEnvironments.join(', ')}, got "${environment}"`);
  }
  return { baseUrl: baseUrlFor(region, environment), id: `${environment}|${region}` };
};

// --- Credentials ----------------------------------------------------------------------------

/**
 * No usable credentials (a fresh deployment whose secret is still empty, or half a v4 pair): the
 * handler answers 503 rather than failing, since only the merchant can fix it.
 */
export class OsmNotConfigured extends Error {
  override readonly name = 'OsmNotConfigured';
}

/** v3: the OSM client id alone. v4: the portal client identifier plus Basic API credentials. */
export type OsmCredentials =
  | { readonly apiVersion: 'v3'; readonly clientId: string }
  | { readonly apiVersion: 'v4'; readonly clientId: string; readonly username: string; readonly password: string };

export const credentialsFrom = (values: {
  clientId?: unknown;
  username?: unknown;
  password?: unknown;
}): OsmCredentials => {
  const text = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);
  const clientId = text(values.clientId);
  const username = text(values.username);
  const password = typeof values.password === 'string' && values.password !== '' ? values.password : undefined;
  if (clientId === undefined) throw new OsmNotConfigured('OSM credentials carry no client_id');
  if ((username === undefined) !== (password === undefined)) {
    throw new OsmNotConfigured('OSM credentials need both a username and a password for API v4, or neither for v3');
  }
  return username !== undefined && password !== undefined
    ? { apiVersion: 'v4', clientId, username, password }
    : { apiVersion: 'v3', clientId };
};

// --- Configuration --------------------------------------------------------------------------

export type OsmClientConfig = {
  readonly endpoint: OsmEndpoint;
  readonly timeoutMs: number;
  /**
   * The client id the cache is keyed by. With OSM_CLIENT_ID in the environment it needs no secret,
   * so a cache hit reads none (the stack's `osmClientId`); else it is the credentials' own.
   */
  readonly clientId: () => Promise<string>;
  /** Resolved once per container: plain env locally, the Secrets Manager secret on AWS. */
  readonly credentials: () => Promise<OsmCredentials>;
  /** Starts reading the credentials' secret now, when they come from one (else absent). */
  readonly prefetch?: () => void;
};

/** The client id sent to an OSM_BASE_URL endpoint when none is configured. */
export const LOCAL_CLIENT_ID = 'local';

/** The key of a config whose client id is its credentials' own. */
const clientIdOf = (credentials: () => Promise<OsmCredentials>) => async (): Promise<string> => (await credentials()).clientId;

/**
 * Read at cold start. Credentials:
 * - OSM_CLIENT_ID with OSM_CREDENTIALS_SECRET_ARN (as the stack deploys with `osmClientId`): the
 *   client id from the environment (it is public: Klarna's web SDK puts it in every shop page), the
 *   v4 `username` and `password` from the secret, read only when Klarna is asked (a cache miss);
 * - OSM_CLIENT_ID alone (+ OSM_USERNAME / OSM_PASSWORD for v4): all from the environment;
 * - the JSON secret named by OSM_CREDENTIALS_SECRET_ARN alone (`client_id`, `username`,
 *   `password`), read when the container loads, since its client id keys the cache;
 * - none, for an OSM_BASE_URL only: the client id `local`.
 * Klarna's own endpoints without credentials: every request gets OsmNotConfigured (503), not a
 * failed cold start.
 */
export const readClientConfig = (): OsmClientConfig => {
  const endpoint = resolveEndpoint({
    baseUrl: optionalEnv('OSM_BASE_URL'),
    region: optionalEnv('OSM_REGION'),
    environment: optionalEnv('OSM_ENVIRONMENT'),
  });
  // Well inside API Gateway's and the shop's patience (the KCO budget is 3 s end to end).
  const timeoutMs = intEnv('OSM_TIMEOUT_MS', 1500, { min: 50, max: 2500 });
  const clientId = optionalEnv('OSM_CLIENT_ID');
  const secretArn = optionalEnv('OSM_CREDENTIALS_SECRET_ARN');
  if (clientId !== undefined && secretArn !== undefined) {
    const fromSecret = async (): Promise<OsmCredentials> => {
      const secret = await readSecretJson(secretArn);
      // A second client id in the secret would be ignored silently: refuse it as a misconfiguration.
      if (typeof secret.client_id === 'string' && secret.client_id.trim() !== '' && secret.client_id.trim() !== clientId.trim()) {
        throw new OsmNotConfigured('The OSM credentials secret names another client_id than OSM_CLIENT_ID');
      }
      return credentialsFrom({ clientId, username: secret.username, password: secret.password });
    };
    const key = Promise.resolve(clientId.trim());
    return { endpoint, timeoutMs, clientId: () => key, credentials: fromSecret };
  }
  if (clientId !== undefined) {
    const read = (): Promise<OsmCredentials> => {
      try {
        return Promise.resolve(credentialsFrom({ clientId, username: optionalEnv('OSM_USERNAME'), password: process.env.OSM_PASSWORD }));
      } catch (error) {
        return Promise.reject(error instanceof Error ? error : new Error(String(error)));
      }
    };
    const fixed = read();
    fixed.catch(() => undefined); // answered per request, not an unhandled rejection at cold start
    const credentials = () => fixed;
    return { endpoint, timeoutMs, clientId: clientIdOf(credentials), credentials };
  }
  if (secretArn === undefined) {
    // A fake or proxy at OSM_BASE_URL (npm start, tests) needs no real client id; Klarna does.
    if (endpoint.id.startsWith('custom|')) {
      const local = Promise.resolve(credentialsFrom({ clientId: LOCAL_CLIENT_ID }));
      const credentials = () => local;
      return { endpoint, timeoutMs, clientId: clientIdOf(credentials), credentials };
    }
    const credentials = () => Promise.reject(new OsmNotConfigured('Missing OSM_CLIENT_ID or OSM_CREDENTIALS_SECRET_ARN'));
    return { endpoint, timeoutMs, clientId: clientIdOf(credentials), credentials };
  }
  // readSecretJson keeps the secret per container and forgets a failed read.
  const credentials = async (): Promise<OsmCredentials> => {
    const secret = await readSecretJson(secretArn);
    return credentialsFrom({ clientId: secret.client_id, username: secret.username, password: secret.password });
  };
  return { endpoint, timeoutMs, clientId: clientIdOf(credentials), credentials, prefetch: () => prefetchSecretJson(secretArn) };
};

// --- Request checks -------------------------------------------------------------------------

export type PlacementRequest = {
  readonly placementKey: string;
  readonly locale: string;
  /** Minor units; null for placements that take no amount (top-strip-promotion-badge). */
  readonly purchaseAmount: number | null;
};

const PLACEMENT_KEY = /^[a-z0-9-]{1,64}$/;
const LOCALE = /^[a-z]{2}-[A-Z]{2}$/;
const AMOUNT = /^(0|[1-9]\d{0,9})$/;
const MAX_AMOUNT = 2 ** 31 - 1;

export type Checked<T> = { ok: true; value: T } | { ok: false; message: string };

/**
 * The caller's placement_key, locale and purchase_amount, checked before anything reaches
 * Klarna. The amount arrives as a query string or a JSON number; both must be a plain
 * non-negative integer below 2^31.
 */
export const checkPlacementRequest = (raw: {
  placement_key?: unknown;
  locale?: unknown;
  purchase_amount?: unknown;
}): Checked<PlacementRequest> => {
  const { placement_key: key, locale, purchase_amount: amount } = raw;
  if (typeof key !== 'string' || !PLACEMENT_KEY.test(key)) {
    return { ok: false, message: 'placement_key must be 1 to 64 characters of a-z, 0-9 and "-"' };
  }
  if (typeof locale !== 'string' || !LOCALE.test(locale)) {
    return { ok: false, message: 'locale must look like en-US (language-COUNTRY)' };
  }
  let purchaseAmount: number | null;
  if (amount === undefined || amount === null || amount === '') {
    purchaseAmount = null;
  } else if (typeof amount === 'number' && Number.isInteger(amount) && amount >= 0 && amount <= MAX_AMOUNT) {
    purchaseAmount = amount;
  } else if (typeof amount === 'string' && AMOUNT.test(amount) && Number(amount) <= MAX_AMOUNT) {
    purchaseAmount = Number(amount);
  } else {
    return { ok: false, message: 'purchase_amount must be a non-negative integer in minor units below 2^31' };
  }
  return { ok: true, value: { placementKey: key, locale, purchaseAmount } };
};

// --- Klarna's answer ------------------------------------------------------------------------

const text = (max: number) => z.string().check(z.maxLength(max));
const nodeSchemas = [
  z.object({ type: z.literal('TEXT'), name: z.optional(text(100)), value: text(2000) }),
  z.object({ type: z.literal('ACTION'), name: z.optional(text(100)), label: text(500), url: text(2048) }),
  z.object({ type: z.literal('IMAGE'), name: z.optional(text(100)), alt: z.optional(text(500)), url: text(2048) }),
] as const;
const nodeSchema = z.discriminatedUnion('type', [...nodeSchemas]);

// Only the documented top-level fields; nodes are checked one by one below.
const bodySchema = z.object({
  content: z.optional(z.nullable(z.object({ nodes: z.optional(z.nullable(z.array(z.unknown()))) }))),
  impression_url: z.optional(z.nullable(z.string())),
});

/**
 * Klarna's nodes with documented fields only; unknown types, malformed nodes and links or images
 * whose URL is not https are dropped, so the JSON carries no more than the HTML shows.
 */
export const documentedContent = (nodes: readonly unknown[]): { content: OsmContent; dropped: number } => {
  const kept: OsmNode[] = [];
  for (const node of nodes.slice(0, 50)) {
    const parsed = nodeSchema.safeParse(node);
    if (!parsed.success) continue;
    if (parsed.data.type === 'TEXT') {
      kept.push(parsed.data);
      continue;
    }
    const url = safeHttpsUrl(parsed.data.url);
    if (url !== undefined) kept.push({ ...parsed.data, url });
  }
  return { content: { nodes: kept }, dropped: nodes.length - kept.length };
};

export type OsmPlacement = {
  /** null: Klarna has no messaging for this amount (no content, no nodes, or 204). */
  readonly content: OsmContent | null;
  readonly impressionUrl: string | null;
};

export type OsmFailure =
  /** 403: the OSM API is not enabled for this client id (or the User-Agent was missing). */
  | { readonly kind: 'forbidden'; readonly status: 403 }
  /** 400, 404, 422: Klarna refused what was asked (unsupported placement, locale, amount). */
  | { readonly kind: 'rejected'; readonly status: number }
  /** Any other 4xx (401 bad credentials, 405…): our configuration, not the caller's request. */
  | { readonly kind: 'misconfigured'; readonly status: number }
  /** 5xx, 429, a timeout, a network error or an unreadable body: a stale copy may serve. */
  | { readonly kind: 'unavailable'; readonly status?: number; readonly reason: 'status' | 'timeout' | 'network' | 'invalid_body' };

export type OsmFetchResult = {
  readonly correlationId: string | undefined;
  /** Klarna's `error_code` from an error body, for the log. */
  readonly errorCode?: string | undefined;
  readonly cacheControl: string | undefined;
  /** The raw `Age` header: how long Klarna's CDN already held the answer (parsed by the cache). */
  readonly age: string | undefined;
  readonly durationMs: number;
  readonly droppedNodes: number;
} & ({ readonly ok: true; readonly placement: OsmPlacement } | { readonly ok: false; readonly failure: OsmFailure });

const MAX_BODY_CHARS = 256 * 1024;

const failureFor = (status: number): OsmFailure => {
  if (status === 403) return { kind: 'forbidden', status };
  if (status === 400 || status === 404 || status === 422) return { kind: 'rejected', status };
  if (status >= 400 && status < 500 && status !== 408 && status !== 429) return { kind: 'misconfigured', status };
  return { kind: 'unavailable', status, reason: 'status' };
};

const errorCodeOf = (body: string): string | undefined => {
  try {
    const parsed: unknown = JSON.parse(body);
    const code = typeof parsed === 'object' && parsed !== null ? (parsed as { error_code?: unknown }).error_code : undefined;
    return typeof code === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(code) ? code : undefined;
  } catch {
    return undefined;
  }
};

const isTimeout = (error: unknown): boolean =>
  error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');

export const placementUrl = (endpoint: OsmEndpoint, credentials: OsmCredentials, request: PlacementRequest): string => {
  const query = new URLSearchParams({
    client_id: credentials.clientId,
    placement_key: request.placementKey,
    locale: request.locale,
  });
  if (request.purchaseAmount !== null) query.set('purchase_amount', String(request.purchaseAmount));
  return `${endpoint.baseUrl}/messaging/${credentials.apiVersion}?${query.toString()}`;
};

const requestHeaders = (credentials: OsmCredentials): Record<string, string> => ({
  accept: 'application/json',
  'user-agent': USER_AGENT,
  ...(credentials.apiVersion === 'v4'
    ? { authorization: `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}` }
    : {}),
});

/** One GET to Klarna's OSM API; the timeout covers the headers and the body. Never throws. */
export const fetchPlacement = async (
  config: Pick<OsmClientConfig, 'endpoint' | 'timeoutMs'>,
  credentials: OsmCredentials,
  request: PlacementRequest,
): Promise<OsmFetchResult> => {
  const started = performance.now();
  let correlationId: string | undefined;
  let cacheControl: string | undefined;
  let age: string | undefined;
  let errorCode: string | undefined;
  const done = (outcome: { ok: true; placement: OsmPlacement } | { ok: false; failure: OsmFailure }, droppedNodes = 0): OsmFetchResult => ({
    ...outcome,
    correlationId,
    cacheControl,
    age,
    errorCode,
    droppedNodes,
    durationMs: Math.round(performance.now() - started),
  });
  try {
    const response = await fetch(placementUrl(config.endpoint, credentials, request), {
      headers: requestHeaders(credentials),
      redirect: 'error',
      signal: AbortSignal.timeout(config.timeoutMs),
    });
    correlationId = response.headers.get('klarna-correlation-id')?.slice(0, 100) ?? undefined;
    cacheControl = response.headers.get('cache-control') ?? undefined;
    age = response.headers.get('age') ?? undefined;
    const body = await response.text();
    if (response.status !== 200 && response.status !== 204) {
      errorCode = errorCodeOf(body);
      return done({ ok: false, failure: failureFor(response.status) });
    }
    if (response.status === 204 || body.trim() === '') {
      return done({ ok: true, placement: { content: null, impressionUrl: null } });
    }
    if (body.length > MAX_BODY_CHARS) return done({ ok: false, failure: { kind: 'unavailable', reason: 'invalid_body' } });
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      return done({ ok: false, failure: { kind: 'unavailable', reason: 'invalid_body' } });
    }
    const parsed = bodySchema.safeParse(json);
    if (!parsed.success) return done({ ok: false, failure: { kind: 'unavailable', reason: 'invalid_body' } });
    const { content, dropped } = documentedContent(parsed.data.content?.nodes ?? []);
    return done(
      {
        ok: true,
        placement: {
          content: content.nodes.length > 0 ? content : null,
          impressionUrl: parsed.data.impression_url ?? null,
        },
      },
      dropped,
    );
  } catch (error) {
    return done({ ok: false, failure: { kind: 'unavailable', reason: isTimeout(error) ? 'timeout' : 'network' } });
  }
};

// --- Impressions ----------------------------------------------------------------------------

/**
 * Klarna's domains an impression URL may point at. Evidence: the OSM API and Klarna's APIs are on
 * klarna.com (api*.klarna.com, NOTES.md); OSM content and its impression beacons on
 * klarnaservices.com (a playground answer's impression_url is on evt-na.playground.klarnaservices.com,
 * its badge on osm.klarnaservices.com); Klarna's event beacons on klarnaevt.com (the KCO snippet's
 * CLIENT_EVENT_HOST). klarnacdn.net serves static images only, so it is not here.
 */
export const KLARNA_IMPRESSION_DOMAINS = ['klarna.com', 'klarnaservices.com', 'klarnaevt.com'] as const;

const isKlarnaHost = (hostname: string): boolean =>
  KLARNA_IMPRESSION_DOMAINS.some((domain) => hostname === domain || hostname.endsWith(`.${domain}`));

/**
 * Where the server may send an impression: https on a Klarna domain (Klarna has handed out
 * impression URLs as http://; they are called as https://), or the origin of a configured
 * OSM_BASE_URL (a stand-in or proxy). Never user info, never another port of Klarna's hosts.
 * undefined: not called at all.
 */
export const impressionTarget = (url: string | null | undefined, endpoint: Pick<OsmEndpoint, 'baseUrl' | 'id'>): URL | undefined => {
  if (typeof url !== 'string' || url.length > 2048) return undefined;
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return undefined;
  }
  if (target.username !== '' || target.password !== '') return undefined;
  if (endpoint.id.startsWith('custom|') && target.origin === new URL(endpoint.baseUrl).origin) return target;
  if (!isKlarnaHost(target.hostname) || target.port !== '') return undefined;
  if (target.protocol === 'http:') target.protocol = 'https:';
  return target.protocol === 'https:' ? target : undefined;
};

export type ImpressionResult =
  | { readonly ok: true; readonly status: number }
  | { readonly ok: false; readonly status?: number; readonly reason: 'status' | 'timeout' | 'network' };

/**
 * Register one impression: a GET of a target impressionTarget allowed, with the same timeout and
 * User-Agent. A redirect counts as registered and is not followed.
 */
export const registerImpression = async (target: URL, { timeoutMs }: { timeoutMs: number }): Promise<ImpressionResult> => {
  try {
    const response = await fetch(target, {
      headers: { 'user-agent': USER_AGENT },
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    await response.arrayBuffer(); // drain, so the connection goes back to the pool
    return response.status >= 200 && response.status < 400
      ? { ok: true, status: response.status }
      : { ok: false, status: response.status, reason: 'status' };
  } catch (error) {
    return { ok: false, reason: isTimeout(error) ? 'timeout' : 'network' };
  }
};
