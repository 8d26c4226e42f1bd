/**
 * The On-site messaging handler, one Lambda for both routes:
 *   GET  /osm/placements/{placement_key}[.html]?locale=&purchase_amount=  → content + HTML (or HTML alone)
 *   POST /osm/impressions {impression_token, placement_key, locale, purchase_amount} → registers the impression
 * Thin: check the input, ask the cache (which asks Klarna when it must), map the outcome to HTTP.
 * Every error is `{ "error": "…" }`; nothing internal reaches the caller. Every request ends in one
 * log line whose `outcome` says what happened (recordOutcome), so counting outcomes is one call.
 */
import middy from '@middy/core';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { isbot } from 'isbot';
import { intEnv, optionalEnv, requireEnv } from '../shared/config.js';
import { documentClient } from '../shared/dynamodb.js';
import { bodyBytes, safeJsonReviver } from '../shared/http.js';
import { describeError, logger } from '../shared/log.js';
import { countOsmOutcome } from '../shared/metrics.js';
import { PlacementCache, type CacheLookup, type PlacementStore } from './cache.js';
import { browserCacheControl, placementCacheKey, type Clock } from './cache-policy.js';
import {
  OsmNotConfigured,
  checkPlacementRequest,
  fetchPlacement,
  impressionTarget,
  readClientConfig,
  registerImpression,
  type OsmClientConfig,
  type OsmFailure,
  type OsmFetchResult,
  type PlacementRequest,
} from './client.js';
import { IMPRESSION_TOKEN_SECONDS, isImpressionToken, newImpressionToken, type ImpressionTokens } from './impression-token.js';
import { hasMessaging, renderPlacementHtml } from './render.js';
import { DynamoImpressionTokens, DynamoPlacementStore } from './store.js';

export type OsmConfig = {
  readonly client: OsmClientConfig;
  readonly tableName: string;
  readonly defaultTtlSeconds: number;
  readonly memoryEntries: number;
  readonly allowedOrigin: string;
};

/** Read once per container; a missing or malformed variable fails the cold start. */
export const readOsmConfig = (): OsmConfig => ({
  client: readClientConfig(),
  tableName: requireEnv('PLACEMENTS_TABLE'),
  defaultTtlSeconds: intEnv('OSM_DEFAULT_TTL_SECONDS', 0, { min: 0, max: 86_400 }),
  memoryEntries: intEnv('OSM_MEMORY_CACHE_ENTRIES', 1000, { min: 0, max: 100_000 }),
  allowedOrigin: optionalEnv('OSM_ALLOWED_ORIGIN') ?? '*',
});

export const FORBIDDEN_MESSAGE = 'OSM API access is not enabled for this client id';
/** An impression body is four short fields; anything much larger is refused before parsing. */
/**
 * A known crawler, or a request without a User-Agent (every browser sends one; a script need not):
 * either sees the content but gets no impression token and registers no impression.
 */
const notABrowser = (userAgent: string | undefined): boolean => userAgent === undefined || userAgent.trim() === '' || isbot(userAgent);

const MAX_IMPRESSION_BODY_BYTES = 4096;
const BODY_SHAPE = '{"impression_token", "placement_key", "locale", "purchase_amount"}';

type Result = APIGatewayProxyResult;
type OsmHandler = (event: APIGatewayProxyEvent) => Promise<Result>;

const headerOf = (event: APIGatewayProxyEvent, name: string): string | undefined => {
  for (const [key, value] of Object.entries(event.headers ?? {})) {
    if (key.toLowerCase() === name && value !== undefined) return value;
  }
  return undefined;
};

/** `Accept` that ranks text/html above application/json (a browser navigating, not `fetch`). */
export const prefersHtml = (accept: string | undefined): boolean => {
  if (accept === undefined) return false;
  const weights = new Map<string, number>();
  for (const range of accept.split(',')) {
    const [type, ...params] = range.split(';').map((s) => s.trim().toLowerCase());
    if (!type) continue;
    const q = params.map((p) => /^q=([\d.]+)$/.exec(p)?.[1]).find((v) => v !== undefined);
    weights.set(type, q === undefined ? 1 : Number(q));
  }
  const html = weights.get('text/html');
  const json = weights.get('application/json');
  return html !== undefined && html > 0 && (json === undefined || html > json);
};

/** The logged view of a request: identifiers and amounts only. */
const logFields = (request: PlacementRequest) => ({
  placement_key: request.placementKey,
  locale: request.locale,
  purchase_amount: request.purchaseAmount,
});

const fetchLogFields = (fetched: OsmFetchResult) => ({
  klarna_status: fetched.ok ? 'ok' : (fetched.failure.status ?? fetched.failure.kind),
  klarna_correlation_id: fetched.correlationId,
  klarna_error_code: fetched.errorCode,
  failure: fetched.ok ? undefined : fetched.failure.kind === 'unavailable' ? `unavailable:${fetched.failure.reason}` : fetched.failure.kind,
  fetch_ms: fetched.durationMs,
  dropped_nodes: fetched.droppedNodes || undefined,
});

/** Klarna's failure as our answer (when no stale copy may serve). */
const failureAnswer = (failure: OsmFailure): { status: number; message: string } => {
  switch (failure.kind) {
    case 'forbidden':
      return { status: 502, message: FORBIDDEN_MESSAGE };
    case 'rejected':
      return { status: 400, message: 'Klarna rejected this placement_key, locale or purchase_amount' };
    case 'misconfigured':
      return { status: 502, message: "Klarna's OSM API refused the request; check the OSM credentials" };
    case 'unavailable':
      return { status: 502, message: "Klarna's OSM API is unavailable" };
  }
};

export const NOT_CONFIGURED_MESSAGE = 'On-site messaging is not configured';
export const UNKNOWN_TOKEN_MESSAGE = 'Unknown or spent impression_token';
export const CRAWLER_MESSAGE = 'Requests from crawlers register no impression';

/** Every way a request can end; the `outcome` field of its one log line (recordOutcome). */
export type OsmOutcome =
  | 'hit'
  | 'miss'
  | 'stale'
  | 'error'
  | 'invalid'
  | 'not_configured'
  | 'impression_registered'
  | 'impression_refused'
  | 'impression_failed'
  | 'bot'
  | 'fault';

type Served = { readonly result: Result; readonly outcome: OsmOutcome; readonly fields?: Record<string, unknown> };

const WARN_OUTCOMES: ReadonlySet<OsmOutcome> = new Set(['error', 'impression_failed', 'not_configured', 'fault']);

/** THE place each outcome is made visible: one log line per request (metrics can count here too). */
export const recordOutcome = ({ outcome, fields = {} }: Served): void => {
  countOsmOutcome(outcome);
  if (outcome === 'fault') logger.error('osm request', { outcome, ...fields });
  else if (WARN_OUTCOMES.has(outcome)) logger.warn('osm request', { outcome, ...fields });
  else logger.info('osm request', { outcome, ...fields });
};

export type OsmHandlerDeps = {
  readonly config?: OsmConfig;
  readonly clock?: Clock;
  /** Defaults to the DynamoDB table named by the config. */
  readonly store?: PlacementStore;
  /** Defaults to the same table. */
  readonly tokens?: ImpressionTokens;
};

/**
 * The raw handler with its own container state (memory cache, single-flight). The module's
 * `handler` is one of these behind middy; tests make more, with their own clock.
 */
export const createOsmHandler = (deps: OsmHandlerDeps = {}): OsmHandler => {
  const config = deps.config ?? readOsmConfig();
  // When the client id keying the cache is the secret's, its read is under way while the container
  // finishes loading instead of before the first lookup.
  config.client.prefetch?.();
  const clock = deps.clock ?? Date.now;
  const cache = new PlacementCache({
    store: deps.store ?? new DynamoPlacementStore(documentClient(), config.tableName),
    memoryEntries: config.memoryEntries,
    defaultTtlSeconds: config.defaultTtlSeconds,
    clock,
    onStoreError: (operation, error) => logger.warn('osm cache store failed', { operation, ...describeError(error) }),
  });
  const tokens = deps.tokens ?? new DynamoImpressionTokens(documentClient(), config.tableName);

  const commonHeaders: Record<string, string> = {
    'access-control-allow-origin': config.allowedOrigin,
    'access-control-expose-headers': 'x-cache',
    'x-content-type-options': 'nosniff',
  };
  const json = (statusCode: number, body: unknown, headers: Record<string, string> = {}): Result => ({
    statusCode,
    headers: { ...commonHeaders, 'content-type': 'application/json; charset=utf-8', ...headers },
    body: JSON.stringify(body),
  });
  const error = (statusCode: number, message: string): Result =>
    json(statusCode, { error: message }, { 'cache-control': 'no-store' });

  const cacheKeyFor = async (request: PlacementRequest) =>
    placementCacheKey({
      endpointId: config.client.endpoint.id,
      clientId: await config.client.clientId(),
      placementKey: request.placementKey,
      locale: request.locale,
      purchaseAmount: request.purchaseAmount,
    });

  /** Klarna is asked on a miss only, so only then are the credentials (and their secret) needed. */
  const fetchFromKlarna = async (request: PlacementRequest): Promise<OsmFetchResult> =>
    fetchPlacement(config.client, await config.client.credentials(), request);

  /** Our Cache-Control passes on what remains of Klarna's max-age, and keeps `private` private. */
  const servedHeaders = (lookup: Exclude<CacheLookup<OsmFetchResult>, { source: 'error' }>) => ({
    'cache-control': browserCacheControl(lookup, clock()),
    'x-cache': lookup.source,
    vary: 'Accept',
  });

  /**
   * A single-use token for this served placement, or null: none for crawlers, for answers we may
   * not keep (no-store, private, no-cache), or for an impression URL the server would not call.
   */
  const mintToken = async (
    lookup: Exclude<CacheLookup<OsmFetchResult>, { source: 'error' }>,
    key: ReturnType<typeof placementCacheKey>,
  ): Promise<{ token: string | null; failed?: boolean }> => {
    const url = lookup.entry.impressionUrl;
    if (lookup.source === 'miss' && !lookup.stored) return { token: null };
    if (url === null || impressionTarget(url, config.client.endpoint) === undefined) return { token: null };
    const token = newImpressionToken();
    try {
      await tokens.put(token, key, url, clock() + IMPRESSION_TOKEN_SECONDS * 1000);
      return { token };
    } catch (fault) {
      logger.warn('osm impression token not stored', describeError(fault));
      return { token: null, failed: true };
    }
  };

  const getPlacement = async (event: APIGatewayProxyEvent): Promise<Served> => {
    const rawKey = event.pathParameters?.placement_key ?? '';
    const htmlBySuffix = rawKey.endsWith('.html');
    const query = event.queryStringParameters ?? {};
    const checked = checkPlacementRequest({
      placement_key: htmlBySuffix ? rawKey.slice(0, -'.html'.length) : rawKey,
      locale: query.locale,
      purchase_amount: query.purchase_amount,
    });
    if (!checked.ok) return { result: error(400, checked.message), outcome: 'invalid' };
    const request = checked.value;
    const wantsHtml = htmlBySuffix || prefersHtml(headerOf(event, 'accept'));
    const bot = notABrowser(headerOf(event, 'user-agent'));

    const key = await cacheKeyFor(request);
    const lookup = await cache.get(key, () => fetchFromKlarna(request));
    const fields = {
      ...logFields(request),
      coalesced: lookup.coalesced,
      bot: bot || undefined,
      ...(lookup.source === 'hit' || lookup.fetched === undefined ? {} : fetchLogFields(lookup.fetched)),
    };

    if (lookup.source === 'error') {
      const answer = failureAnswer(lookup.fetched.ok ? { kind: 'unavailable', reason: 'invalid_body' } : lookup.fetched.failure);
      return {
        result: error(answer.status, answer.message),
        outcome: 'error',
        fields: { ...fields, status: answer.status, remembered: lookup.remembered },
      };
    }

    const { entry } = lookup;
    const headers = servedHeaders(lookup);
    if (!hasMessaging(entry.content)) {
      return { result: { statusCode: 204, headers: { ...commonHeaders, ...headers }, body: '' }, outcome: lookup.source, fields };
    }
    const html = renderPlacementHtml(entry.content, entry.impressionUrl, request);
    if (wantsHtml) {
      const result = { statusCode: 200, headers: { ...commonHeaders, 'content-type': 'text/html; charset=utf-8', ...headers }, body: html };
      return { result, outcome: lookup.source, fields };
    }
    const minted = bot ? { token: null } : await mintToken(lookup, key);
    const body = {
      placement_key: request.placementKey,
      locale: request.locale,
      purchase_amount: request.purchaseAmount,
      content: entry.content,
      impression_url: entry.impressionUrl,
      impression_token: minted.token,
      html,
    };
    return { result: json(200, body, headers), outcome: lookup.source, fields: { ...fields, token_failed: minted.failed } };
  };

  const postImpression = async (event: APIGatewayProxyEvent): Promise<Served> => {
    if (bodyBytes(event) > MAX_IMPRESSION_BODY_BYTES) {
      return { result: error(413, `The body is larger than ${MAX_IMPRESSION_BODY_BYTES} bytes`), outcome: 'invalid' };
    }
    // Known crawlers see no ad, so they register no impression: nothing is looked up or called.
    if (notABrowser(headerOf(event, 'user-agent'))) return { result: error(403, CRAWLER_MESSAGE), outcome: 'bot' };
    const raw = event.isBase64Encoded && event.body ? Buffer.from(event.body, 'base64').toString('utf8') : (event.body ?? '');
    let body: unknown;
    try {
      body = JSON.parse(raw, safeJsonReviver);
    } catch {
      return { result: error(400, `The body must be JSON: ${BODY_SHAPE}`), outcome: 'invalid' };
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      return { result: error(400, `The body must be a JSON object: ${BODY_SHAPE}`), outcome: 'invalid' };
    }
    const checked = checkPlacementRequest(body);
    if (!checked.ok) return { result: error(400, checked.message), outcome: 'invalid' };
    const request = checked.value;
    const token: unknown = (body as { impression_token?: unknown }).impression_token;
    const refused = (reason: string): Served => ({
      result: error(404, UNKNOWN_TOKEN_MESSAGE),
      outcome: 'impression_refused',
      fields: { ...logFields(request), reason },
    });
    if (!isImpressionToken(token)) return refused(token === undefined ? 'missing' : 'malformed');

    const key = await cacheKeyFor(request);
    // Only the impression URL Klarna gave us for the placement this token was served with.
    const url = await tokens.redeem(token, key, clock());
    const target = impressionTarget(url, config.client.endpoint);
    if (target === undefined) return refused(url === undefined ? 'unknown_or_spent' : 'url_not_allowed');
    const result = await registerImpression(target, { timeoutMs: config.client.timeoutMs });
    if (!result.ok) {
      return {
        result: error(502, 'Klarna did not register the impression'),
        outcome: 'impression_failed',
        fields: { ...logFields(request), status: result.status, reason: result.reason },
      };
    }
    return {
      result: { statusCode: 204, headers: { ...commonHeaders, 'cache-control': 'no-store' }, body: '' },
      outcome: 'impression_registered',
      fields: { ...logFields(request), status: result.status },
    };
  };

  const route = async (event: APIGatewayProxyEvent): Promise<Served> => {
    try {
      if (event.httpMethod === 'GET' && event.resource === '/osm/placements/{placement_key}') return await getPlacement(event);
      if (event.httpMethod === 'POST' && event.resource === '/osm/impressions') return await postImpression(event);
      return { result: error(404, 'Not found'), outcome: 'invalid' };
    } catch (fault) {
      const fields = { resource: event.resource, ...describeError(fault) };
      // Only the merchant can fix missing credentials: a 503 that says so, not an internal error.
      if (fault instanceof OsmNotConfigured) return { result: error(503, NOT_CONFIGURED_MESSAGE), outcome: 'not_configured', fields };
      return { result: error(500, 'Internal error'), outcome: 'fault', fields };
    }
  };

  return async (event) => {
    const served = await route(event);
    recordOutcome(served);
    return served.result;
  };
};

export const handler = middy(createOsmHandler())
  .use(httpHeaderNormalizer())
  .use(injectLambdaContext(logger));
