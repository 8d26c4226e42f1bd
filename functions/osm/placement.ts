/**
 * The On-site messaging handler, one Lambda for both routes:
 *   GET  /osm/placements/{placement_key}[.html]?locale=&purchase_amount=  → content + HTML (or HTML alone)
 *   POST /osm/impressions {placement_key, locale, purchase_amount}        → registers the impression
 * Thin: check the input, ask the cache (which asks Klarna when it must), map the outcome to HTTP.
 * Every error is `{ "error": "…" }`; nothing internal reaches the caller.
 */
import middy from '@middy/core';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { intEnv, optionalEnv, requireEnv } from '../shared/config.js';
import { documentClient } from '../shared/dynamodb.js';
import { bodyBytes, safeJsonReviver } from '../shared/http.js';
import { describeError, logger } from '../shared/log.js';
import {
  DynamoPlacementStore,
  PlacementCache,
  browserCacheControl,
  placementCacheKey,
  type CacheLookup,
  type Clock,
  type PlacementStore,
} from './cache.js';
import {
  checkPlacementRequest,
  fetchPlacement,
  readClientConfig,
  registerImpression,
  type OsmClientConfig,
  type OsmFailure,
  type OsmFetchResult,
  type PlacementRequest,
} from './client.js';
import { hasMessaging, renderPlacementHtml } from './render.js';

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
/** An impression body is three short fields; anything much larger is refused before parsing. */
const MAX_IMPRESSION_BODY_BYTES = 4096;

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

export type OsmHandlerDeps = {
  readonly config?: OsmConfig;
  readonly clock?: Clock;
  /** Defaults to the DynamoDB table named by the config. */
  readonly store?: PlacementStore;
};

/**
 * The raw handler with its own container state (memory cache, single-flight). The module's
 * `handler` is one of these behind middy; tests make more, with their own clock.
 */
export const createOsmHandler = (deps: OsmHandlerDeps = {}): OsmHandler => {
  const config = deps.config ?? readOsmConfig();
  const clock = deps.clock ?? Date.now;
  const cache = new PlacementCache({
    store: deps.store ?? new DynamoPlacementStore(documentClient(), config.tableName),
    memoryEntries: config.memoryEntries,
    defaultTtlSeconds: config.defaultTtlSeconds,
    clock,
    onStoreError: (operation, error) => logger.warn('osm cache store failed', { operation, ...describeError(error) }),
  });

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

  const cacheKeyFor = async (request: PlacementRequest) => {
    const credentials = await config.client.credentials();
    const key = placementCacheKey({
      endpointId: config.client.endpoint.id,
      clientId: credentials.clientId,
      placementKey: request.placementKey,
      locale: request.locale,
      purchaseAmount: request.purchaseAmount,
    });
    return { credentials, key };
  };

  /** Our Cache-Control passes on what remains of Klarna's max-age, and keeps `private` private. */
  const servedHeaders = (lookup: Exclude<CacheLookup<OsmFetchResult>, { source: 'error' }>) => ({
    'cache-control': browserCacheControl(lookup, clock()),
    'x-cache': lookup.source,
    vary: 'Accept',
  });

  const getPlacement = async (event: APIGatewayProxyEvent): Promise<Result> => {
    const rawKey = event.pathParameters?.placement_key ?? '';
    const htmlBySuffix = rawKey.endsWith('.html');
    const query = event.queryStringParameters ?? {};
    const checked = checkPlacementRequest({
      placement_key: htmlBySuffix ? rawKey.slice(0, -'.html'.length) : rawKey,
      locale: query.locale,
      purchase_amount: query.purchase_amount,
    });
    if (!checked.ok) return error(400, checked.message);
    const request = checked.value;
    const wantsHtml = htmlBySuffix || prefersHtml(headerOf(event, 'accept'));

    const { credentials, key } = await cacheKeyFor(request);
    const lookup = await cache.get(key, () => fetchPlacement(config.client, credentials, request));

    if (lookup.source === 'error') {
      const answer = failureAnswer(lookup.fetched.ok ? { kind: 'unavailable', reason: 'invalid_body' } : lookup.fetched.failure);
      logger.warn('osm placement failed', { ...logFields(request), cache: 'error', status: answer.status, ...fetchLogFields(lookup.fetched) });
      return error(answer.status, answer.message);
    }
    if (lookup.source !== 'hit') {
      logger.info(lookup.fetched === undefined ? 'osm placement served stale (Klarna failed moments ago)' : 'osm placement fetched', {
        ...logFields(request),
        cache: lookup.source,
        coalesced: lookup.coalesced,
        ...(lookup.fetched === undefined ? {} : fetchLogFields(lookup.fetched)),
      });
    }

    const { entry } = lookup;
    const headers = servedHeaders(lookup);
    if (!hasMessaging(entry.content)) return { statusCode: 204, headers: { ...commonHeaders, ...headers }, body: '' };

    const html = renderPlacementHtml(entry.content, entry.impressionUrl, request);
    if (wantsHtml) {
      return { statusCode: 200, headers: { ...commonHeaders, 'content-type': 'text/html; charset=utf-8', ...headers }, body: html };
    }
    return json(
      200,
      {
        placement_key: request.placementKey,
        locale: request.locale,
        purchase_amount: request.purchaseAmount,
        content: entry.content,
        impression_url: entry.impressionUrl,
        html,
      },
      headers,
    );
  };

  const postImpression = async (event: APIGatewayProxyEvent): Promise<Result> => {
    if (bodyBytes(event) > MAX_IMPRESSION_BODY_BYTES) return error(413, `The body is larger than ${MAX_IMPRESSION_BODY_BYTES} bytes`);
    const raw = event.isBase64Encoded && event.body ? Buffer.from(event.body, 'base64').toString('utf8') : (event.body ?? '');
    let body: unknown;
    try {
      body = JSON.parse(raw, safeJsonReviver);
    } catch {
      return error(400, 'The body must be JSON: {"placement_key", "locale", "purchase_amount"}');
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      return error(400, 'The body must be a JSON object: {"placement_key", "locale", "purchase_amount"}');
    }
    const checked = checkPlacementRequest(body);
    if (!checked.ok) return error(400, checked.message);
    const request = checked.value;

    const { key } = await cacheKeyFor(request);
    // Only the impression URL Klarna gave us for this very placement: never one from the caller.
    const entry = await cache.peek(key);
    if (entry === undefined || entry.impressionUrl === null || !hasMessaging(entry.content)) {
      return error(404, 'No placement is cached for this placement_key, locale and purchase_amount');
    }
    const result = await registerImpression(entry.impressionUrl, { timeoutMs: config.client.timeoutMs });
    if (!result.ok) {
      logger.warn('osm impression failed', { ...logFields(request), status: result.status, reason: result.reason });
      return error(502, 'Klarna did not register the impression');
    }
    logger.info('osm impression registered', { ...logFields(request), status: result.status });
    return { statusCode: 204, headers: { ...commonHeaders, 'cache-control': 'no-store' }, body: '' };
  };

  return async (event) => {
    try {
      if (event.httpMethod === 'GET' && event.resource === '/osm/placements/{placement_key}') return await getPlacement(event);
      if (event.httpMethod === 'POST' && event.resource === '/osm/impressions') return await postImpression(event);
      return error(404, 'Not found');
    } catch (fault) {
      logger.error('osm handler failed', { resource: event.resource, ...describeError(fault) });
      return error(500, 'Internal error');
    }
  };
};

export const handler = middy(createOsmHandler())
  .use(httpHeaderNormalizer())
  .use(injectLambdaContext(logger));
