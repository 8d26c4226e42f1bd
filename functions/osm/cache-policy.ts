/**
 * How long Klarna's OSM answer may be reused, by our caches and by the shopper's browser. Pure: no
 * I/O, no AWS; the clock is a parameter.
 *
 * RFC 9111's decisions (may it be stored at all, which lifetime applies) come from
 * `http-cache-semantics`: shared-cache mode for our caches (memory and DynamoDB serve every
 * shopper), private mode for the browser. Around it, what docs/osm.md documents and the library
 * reads otherwise:
 * - The header is normalised first: directive names case-insensitive, a repeated delta-seconds
 *   directive keeps its smallest value (the library keeps the last), a malformed one reads as 0.
 * - Only that header reaches it: no Expires, Last-Modified heuristic, Set-Cookie or Vary, and no
 *   Authorization (the v4 credentials are the deployment's, the same for every shopper; the cache
 *   key names the client), and `immutable` gets no 24 h floor.
 * - Age is ours: one plain non-negative integer or nothing (the library's parseInt reads "-5" as
 *   -5, which would lengthen the lifetime).
 * - OSM_DEFAULT_TTL_SECONDS applies when Klarna says nothing about freshness.
 */
import HttpCachePolicy from 'http-cache-semantics';
import type { OsmContent } from './render.js';

export type Clock = () => number;

// --- Cache-Control and Age ------------------------------------------------------------------

export type CacheDirectives = {
  readonly noStore: boolean;
  readonly noCache: boolean;
  /** Present (true) only when sent, like the delta-seconds directives. */
  readonly private?: boolean;
  readonly maxAge?: number;
  readonly sMaxage?: number;
  readonly staleIfError?: number;
  /** Every other directive, lower-cased, as sent (public, proxy-revalidate, immutable…). */
  readonly others?: readonly string[];
};

/** RFC 9111's ceiling for delta-seconds. */
const MAX_DELTA_SECONDS = 2 ** 31 - 1;

/** delta-seconds; a malformed value counts as 0, the safe reading. */
const deltaSeconds = (raw: string | undefined): number => {
  const value = raw?.trim().replace(/^"(.*)"$/, '$1');
  if (value === undefined || !/^\d+$/.test(value)) return 0;
  return Math.min(Number(value), MAX_DELTA_SECONDS);
};

type MutableDirectives = { -readonly [K in keyof CacheDirectives]: CacheDirectives[K] };
type DeltaName = 'maxAge' | 'sMaxage' | 'staleIfError';
const DELTA_NAMES: Readonly<Record<string, DeltaName>> = { 'max-age': 'maxAge', 's-maxage': 'sMaxage', 'stale-if-error': 'staleIfError' };

export const parseCacheControl = (header: string | null | undefined): CacheDirectives => {
  const out: MutableDirectives = { noStore: false, noCache: false };
  const others: string[] = [];
  for (const part of (header ?? '').split(',')) {
    const [rawName, ...rest] = part.split('=');
    const name = rawName?.trim().toLowerCase() ?? '';
    const delta = DELTA_NAMES[name];
    if (delta !== undefined) {
      // A repeated directive keeps its smallest value: when Klarna contradicts itself, reuse less.
      const value = deltaSeconds(rest.length > 0 ? rest.join('=') : undefined);
      const previous = out[delta];
      out[delta] = previous === undefined ? value : Math.min(previous, value);
    } else if (name === 'no-store') out.noStore = true;
    else if (name === 'no-cache') out.noCache = true;
    // `private="field"` is read as plain `private`: keeping none of it is the safe reading.
    else if (name === 'private') out.private = true;
    else if (/^[a-z0-9-]+$/.test(name)) others.push(name);
  }
  if (others.length > 0) out.others = others;
  return out;
};

/** The directives as one header the library reads as we do: lower-case, one value each. */
export const normalisedCacheControl = (d: CacheDirectives): string =>
  [
    d.noStore ? 'no-store' : undefined,
    d.noCache ? 'no-cache' : undefined,
    d.private === true ? 'private' : undefined,
    d.maxAge === undefined ? undefined : `max-age=${d.maxAge}`,
    d.sMaxage === undefined ? undefined : `s-maxage=${d.sMaxage}`,
    d.staleIfError === undefined ? undefined : `stale-if-error=${d.staleIfError}`,
    ...(d.others ?? []),
  ]
    .filter((part): part is string => part !== undefined)
    .join(', ');

/**
 * The `Age` header: seconds the answer already spent in caches before us (Klarna's CDN). Anything
 * but one plain non-negative integer is ignored (undefined), as if no cache had held it.
 */
export const parseAge = (header: string | null | undefined): number | undefined => {
  const value = header?.trim();
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  return Math.min(Number(value), MAX_DELTA_SECONDS);
};

// --- Policies -------------------------------------------------------------------------------

/** Any directive that says how long (or whether) to reuse; without one the default TTL applies. */
const saysFreshness = (d: CacheDirectives): boolean =>
  d.noStore || d.noCache || d.private === true || d.maxAge !== undefined || d.sMaxage !== undefined;

/** The library's reading of a normalised header, as our shared caches or as a browser. */
const rfcPolicy = (cacheControl: string, shared: boolean): HttpCachePolicy =>
  new HttpCachePolicy(
    { method: 'GET', url: '/', headers: {} },
    { status: 200, headers: cacheControl === '' ? {} : { 'cache-control': cacheControl } },
    // No heuristic lifetime and no floor for `immutable`: Klarna's word or our default TTL only.
    { shared, cacheHeuristic: 0, immutableMinTimeToLive: 0 },
  );

export type CachePolicy = {
  /** False for `no-store` and `private`, and when nothing could ever be served from the copy. */
  readonly store: boolean;
  /** Seconds our caches (memory and DynamoDB) reuse the copy without asking Klarna. */
  readonly freshSeconds: number;
  /** Seconds after that during which the copy may serve when Klarna fails. */
  readonly staleIfErrorSeconds: number;
};

export type BrowserPolicy = {
  /** Klarna said `private` (and not `no-store`): the caller's browser may keep it, nobody else. */
  readonly private: boolean;
  /** Seconds the browser may reuse it: Klarna's max-age less Age. */
  readonly maxAgeSeconds: number;
};

/**
 * Both readings of one answer. Ours is a shared cache: `s-maxage` wins over `max-age`, neither
 * `no-store` nor `private` is ever kept, `no-cache` means "ask again every time". The browser is a
 * private cache: `s-maxage` is not for it, so only `max-age` counts (an answer with `s-maxage`
 * alone gives it 0). Age (RFC 9111 §4.2.3) counts against both lifetimes and the stale-if-error
 * window. The default TTL applies only to an answer that says nothing about freshness (no header,
 * or none of the directives above): never against Klarna's word.
 */
export const policiesFor = (
  header: string | null | undefined,
  defaultTtlSeconds = 0,
  ageSeconds = 0,
): { readonly shared: CachePolicy; readonly browser: BrowserPolicy } => {
  const directives = parseCacheControl(header);
  const normalised = normalisedCacheControl(directives);
  const shared = rfcPolicy(normalised, true);
  const browser = rfcPolicy(normalised, false);
  const silent = !saysFreshness(directives);
  const sharedLifetime = silent ? defaultTtlSeconds : shared.maxAge();
  const browserLifetime = silent ? defaultTtlSeconds : browser.maxAge();
  const freshSeconds = Math.max(0, sharedLifetime - ageSeconds);
  // An answer older than its lifetime has already spent part of its stale-if-error window.
  const servableSeconds = Math.max(0, sharedLifetime + (directives.staleIfError ?? 0) - ageSeconds);
  const storable = shared.storable();
  return {
    shared: storable
      ? { store: servableSeconds > 0, freshSeconds, staleIfErrorSeconds: servableSeconds - freshSeconds }
      : { store: false, freshSeconds: 0, staleIfErrorSeconds: 0 },
    browser: {
      // Storable by a browser but not by us: that is `private` without `no-store`.
      private: !storable && browser.storable(),
      maxAgeSeconds: Math.max(0, browserLifetime - ageSeconds),
    },
  };
};

/** How long our caches keep Klarna's answer (see policiesFor). */
export const cachePolicy = (header: string | null | undefined, defaultTtlSeconds = 0, ageSeconds = 0): CachePolicy =>
  policiesFor(header, defaultTtlSeconds, ageSeconds).shared;

/** What the browser, a private cache, may do (see policiesFor). */
export const browserPolicy = (header: string | null | undefined, defaultTtlSeconds = 0, ageSeconds = 0): BrowserPolicy =>
  policiesFor(header, defaultTtlSeconds, ageSeconds).browser;

// --- Entries and freshness ------------------------------------------------------------------

export type CachedPlacement = {
  /** null: Klarna has no messaging for this amount (the caller gets 204). */
  readonly content: OsmContent | null;
  readonly impressionUrl: string | null;
  readonly fetchedAtMs: number;
  /** Served without asking Klarna until then. */
  readonly freshUntilMs: number;
  /** Served when Klarna fails until then; nothing is served after it (the DynamoDB TTL). */
  readonly staleUntilMs: number;
  /** Browsers may reuse it until then (Klarna's max-age less Age; see browserPolicy). */
  readonly maxAgeUntilMs: number;
};

/** `browserMaxAgeSeconds` defaults to our own lifetime, which is right when Klarna sent max-age alone. */
export const cacheEntry = (
  placement: { content: OsmContent | null; impressionUrl: string | null },
  policy: CachePolicy,
  nowMs: number,
  browserMaxAgeSeconds = policy.freshSeconds,
): CachedPlacement => {
  const freshUntilMs = nowMs + policy.freshSeconds * 1000;
  return {
    content: placement.content,
    impressionUrl: placement.impressionUrl,
    fetchedAtMs: nowMs,
    freshUntilMs,
    staleUntilMs: freshUntilMs + policy.staleIfErrorSeconds * 1000,
    maxAgeUntilMs: nowMs + browserMaxAgeSeconds * 1000,
  };
};

export type Freshness = 'fresh' | 'stale' | 'expired';

export const freshnessAt = (entry: Pick<CachedPlacement, 'freshUntilMs' | 'staleUntilMs'>, nowMs: number): Freshness => {
  if (nowMs < entry.freshUntilMs) return 'fresh';
  if (nowMs < entry.staleUntilMs) return 'stale';
  return 'expired';
};

/** Of two copies of one key, the one fetched last (a stale fallback serves the newest it knows). */
export const newerCopy = <E extends Pick<CachedPlacement, 'fetchedAtMs'>>(a: E | undefined, b: E | undefined): E | undefined => {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return b.fetchedAtMs > a.fetchedAtMs ? b : a;
};

/** What remains of Klarna's max-age (never s-maxage), in whole seconds, for our own `Cache-Control`. */
export const remainingMaxAge = (entry: Pick<CachedPlacement, 'maxAgeUntilMs'>, nowMs: number): number =>
  Math.max(0, Math.floor((entry.maxAgeUntilMs - nowMs) / 1000));

/** A served lookup, as far as browserCacheControl needs it. */
export type ServedAnswer =
  | { readonly source: 'stale' }
  | { readonly source: 'hit'; readonly entry: Pick<CachedPlacement, 'maxAgeUntilMs'> }
  | {
      readonly source: 'miss';
      readonly stored: boolean;
      readonly private: boolean;
      readonly entry: Pick<CachedPlacement, 'maxAgeUntilMs' | 'fetchedAtMs'>;
    };

/**
 * Our `Cache-Control` to the browser: what remains of Klarna's max-age (less Age and the time the
 * copy spent in our cache), `private` kept private, `no-store` for any other answer we did not
 * keep, and `max-age=0` for a stale copy. A hit is public: private answers are never kept.
 */
export const browserCacheControl = (served: ServedAnswer, nowMs: number): string => {
  if (served.source === 'stale') return 'public, max-age=0';
  if (served.source === 'hit') return `public, max-age=${remainingMaxAge(served.entry, nowMs)}`;
  const maxAge = remainingMaxAge(served.entry, served.entry.fetchedAtMs);
  if (served.private) return `private, max-age=${maxAge}`;
  return served.stored ? `public, max-age=${maxAge}` : 'no-store';
};

/** DynamoDB's TTL attribute: epoch seconds after which nothing may be served. */
export const ttlEpochSeconds = (entry: Pick<CachedPlacement, 'staleUntilMs'>): number => Math.ceil(entry.staleUntilMs / 1000);

// --- Keys -----------------------------------------------------------------------------------

export type CacheKey = { readonly placementId: string; readonly purchaseAmount: number };

/** Sort key for placements asked without an amount (top-strip-promotion-badge). */
export const NO_AMOUNT = -1;

/** One partition per placement identity; the amount is the sort key: a new amount, a new entry. */
export const placementCacheKey = (identity: {
  endpointId: string;
  clientId: string;
  placementKey: string;
  locale: string;
  purchaseAmount: number | null;
}): CacheKey => ({
  placementId: [identity.endpointId, identity.clientId, identity.placementKey, identity.locale].join('|'),
  purchaseAmount: identity.purchaseAmount ?? NO_AMOUNT,
});
