/**
 * The OSM placement cache: Klarna's `Cache-Control` decides how long an answer may be reused
 * (pure functions, first), a bounded in-memory LRU per Lambda container sits in front of the
 * DynamoDB table (adapter, below), and concurrent misses of one key in a container share a single
 * lookup and fetch (a `private` answer excepted). The clock is injected so tests can move time.
 */
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod/mini';
import { documentedContent } from './client.js';
import type { OsmContent } from './render.js';

export type Clock = () => number;

// --- Cache-Control (pure) -------------------------------------------------------------------

export type CacheDirectives = {
  readonly noStore: boolean;
  readonly noCache: boolean;
  /** Present (true) only when sent, like the delta-seconds directives. */
  readonly private?: boolean;
  readonly maxAge?: number;
  readonly sMaxage?: number;
  readonly staleIfError?: number;
};

/** RFC 9111's ceiling for delta-seconds. */
const MAX_DELTA_SECONDS = 2 ** 31 - 1;

/** delta-seconds; a malformed value counts as 0, the safe reading. */
const deltaSeconds = (raw: string | undefined): number => {
  const value = raw?.trim().replace(/^"(.*)"$/, '$1');
  if (value === undefined || !/^\d+$/.test(value)) return 0;
  return Math.min(Number(value), MAX_DELTA_SECONDS);
};

export const parseCacheControl = (header: string | null | undefined): CacheDirectives => {
  const out: { noStore: boolean; noCache: boolean; private?: boolean; maxAge?: number; sMaxage?: number; staleIfError?: number } = {
    noStore: false,
    noCache: false,
  };
  // A repeated directive keeps its smallest value: when Klarna contradicts itself, reuse less.
  const keepMin = (name: 'maxAge' | 'sMaxage' | 'staleIfError', value: number): void => {
    const previous = out[name];
    out[name] = previous === undefined ? value : Math.min(previous, value);
  };
  for (const part of (header ?? '').split(',')) {
    const [rawName, ...rest] = part.split('=');
    const name = rawName?.trim().toLowerCase();
    const value = rest.length > 0 ? rest.join('=') : undefined;
    switch (name) {
      case 'no-store':
        out.noStore = true;
        break;
      case 'no-cache':
        out.noCache = true;
        break;
      // `private="field"` is read as plain `private`: keeping none of it is the safe reading.
      case 'private':
        out.private = true;
        break;
      case 'max-age':
        keepMin('maxAge', deltaSeconds(value));
        break;
      case 's-maxage':
        keepMin('sMaxage', deltaSeconds(value));
        break;
      case 'stale-if-error':
        keepMin('staleIfError', deltaSeconds(value));
        break;
      default:
        break;
    }
  }
  return out;
};

/**
 * The `Age` header: seconds the answer already spent in caches before us (Klarna's CDN). Anything
 * but one plain non-negative integer is ignored (undefined), as if no cache had held it.
 */
export const parseAge = (header: string | null | undefined): number | undefined => {
  const value = header?.trim();
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  return Math.min(Number(value), MAX_DELTA_SECONDS);
};

/** Any directive that says how long (or whether) to reuse; without one the default TTL applies. */
const saysFreshness = (d: CacheDirectives): boolean =>
  d.noStore || d.noCache || d.private === true || d.maxAge !== undefined || d.sMaxage !== undefined;

export type CachePolicy = {
  /** False for `no-store` and `private`, and when nothing could ever be served from the copy. */
  readonly store: boolean;
  /** Seconds our caches (memory and DynamoDB) reuse the copy without asking Klarna. */
  readonly freshSeconds: number;
  /** Seconds after that during which the copy may serve when Klarna fails. */
  readonly staleIfErrorSeconds: number;
};

/**
 * How long our caches keep Klarna's answer. They serve every shopper, so they are shared caches:
 * `s-maxage` wins over `max-age`, and neither `no-store` nor `private` is ever kept. `no-cache`
 * means "ask again every time". Age (RFC 9111 §4.2.3) counts against the lifetime and the
 * stale-if-error window. OSM_DEFAULT_TTL_SECONDS (default 0) applies only to an answer that says
 * nothing about freshness (no header, or none of the directives above): never against Klarna's word.
 */
export const cachePolicy = (header: string | null | undefined, defaultTtlSeconds = 0, ageSeconds = 0): CachePolicy => {
  const directives = parseCacheControl(header);
  if (directives.noStore || directives.private === true) return { store: false, freshSeconds: 0, staleIfErrorSeconds: 0 };
  const klarnaLifetime = directives.noCache ? 0 : (directives.sMaxage ?? directives.maxAge ?? 0);
  const lifetime = saysFreshness(directives) ? klarnaLifetime : defaultTtlSeconds;
  const freshSeconds = Math.max(0, lifetime - ageSeconds);
  // An answer older than its lifetime has already spent part of its stale-if-error window.
  const servableSeconds = Math.max(0, lifetime + (directives.staleIfError ?? 0) - ageSeconds);
  return { store: servableSeconds > 0, freshSeconds, staleIfErrorSeconds: servableSeconds - freshSeconds };
};

export type BrowserPolicy = {
  /** Klarna said `private` (and not `no-store`): the caller's browser may keep it, nobody else. */
  readonly private: boolean;
  /** Seconds the browser may reuse it: Klarna's max-age less Age. */
  readonly maxAgeSeconds: number;
};

/**
 * What the browser, a private cache, may do: `s-maxage` is not for it, so only `max-age` (less
 * Age) counts, and an answer with `s-maxage` alone gives it 0. `no-cache` gives 0. The default TTL
 * applies as in cachePolicy.
 */
export const browserPolicy = (header: string | null | undefined, defaultTtlSeconds = 0, ageSeconds = 0): BrowserPolicy => {
  const directives = parseCacheControl(header);
  const klarnaLifetime = directives.noCache ? 0 : (directives.maxAge ?? 0);
  const lifetime = saysFreshness(directives) ? klarnaLifetime : defaultTtlSeconds;
  return {
    private: directives.private === true && !directives.noStore,
    maxAgeSeconds: Math.max(0, lifetime - ageSeconds),
  };
};

// --- Entries and freshness (pure) -----------------------------------------------------------

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

const keyString = (key: CacheKey): string => `${key.placementId}#${key.purchaseAmount}`;

// --- In-memory LRU --------------------------------------------------------------------------

/** Bounded in entries; a read moves the entry to the young end. 0 entries disables it. */
export class MemoryLru<V> {
  private readonly entries = new Map<string, V>();
  constructor(private readonly maxEntries: number) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: string): V | undefined {
    const value = this.entries.get(key);
    if (value !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, value);
    }
    return value;
  }

  set(key: string, value: V): void {
    if (this.maxEntries <= 0) return;
    this.entries.delete(key);
    this.entries.set(key, value);
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
  }

  delete(key: string): void {
    this.entries.delete(key);
  }
}

// --- DynamoDB adapter -----------------------------------------------------------------------

/** The port the cache needs from a store; the DynamoDB table is one, a Map in tests another. */
export interface PlacementStore {
  get(key: CacheKey): Promise<CachedPlacement | undefined>;
  put(key: CacheKey, entry: CachedPlacement): Promise<void>;
}

const itemSchema = z.object({
  content: z.nullable(z.object({ nodes: z.array(z.unknown()) })),
  impression_url: z.optional(z.nullable(z.string())),
  fetched_at_ms: z.number(),
  fresh_until_ms: z.number(),
  stale_until_ms: z.number(),
  // Required: an item written before it existed may hold a `private` answer, so it is a miss.
  max_age_until_ms: z.number(),
});

type DocumentSender = Pick<DynamoDBDocumentClient, 'send'>;

/**
 * Items: `placement_id` + `purchase_amount` (keys), `content`, `impression_url`, `fetched_at_ms`,
 * `fresh_until_ms`, `stale_until_ms`, `max_age_until_ms` (the browsers' share) and `expires_at`
 * (the table's TTL attribute, epoch seconds: when nothing may be served any more). TTL deletion is
 * lazy, so reads check the times themselves.
 */
export class DynamoPlacementStore implements PlacementStore {
  constructor(
    private readonly client: DocumentSender,
    private readonly tableName: string,
  ) {}

  async get(key: CacheKey): Promise<CachedPlacement | undefined> {
    const out = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { placement_id: key.placementId, purchase_amount: key.purchaseAmount },
      }),
    );
    if (out.Item === undefined) return undefined;
    const parsed = itemSchema.safeParse(out.Item);
    if (!parsed.success) return undefined; // an item of another shape is a miss, not a fault
    const item = parsed.data;
    const content = item.content === null ? null : documentedContent(item.content.nodes).content;
    return {
      content: content !== null && content.nodes.length > 0 ? content : null,
      impressionUrl: item.impression_url ?? null,
      fetchedAtMs: item.fetched_at_ms,
      freshUntilMs: item.fresh_until_ms,
      staleUntilMs: item.stale_until_ms,
      maxAgeUntilMs: item.max_age_until_ms,
    };
  }

  async put(key: CacheKey, entry: CachedPlacement): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          placement_id: key.placementId,
          purchase_amount: key.purchaseAmount,
          content: entry.content,
          impression_url: entry.impressionUrl,
          fetched_at_ms: entry.fetchedAtMs,
          fresh_until_ms: entry.freshUntilMs,
          stale_until_ms: entry.staleUntilMs,
          max_age_until_ms: entry.maxAgeUntilMs,
          expires_at: ttlEpochSeconds(entry),
        },
      }),
    );
  }
}

// --- The cache ------------------------------------------------------------------------------

/** What the cache needs to know of a fetch; the caller's own result type rides along. */
export type FetchLike =
  | {
      readonly ok: true;
      readonly placement: { content: OsmContent | null; impressionUrl: string | null };
      readonly cacheControl?: string | undefined;
      /** The raw `Age` header. */
      readonly age?: string | undefined;
    }
  | { readonly ok: false };

export type CacheLookup<R extends FetchLike> = { readonly coalesced?: boolean } & (
  /** Fresh copy from memory or DynamoDB; no request to Klarna. */
  | { readonly source: 'hit'; readonly entry: CachedPlacement }
  /**
   * Fetched now; `stored` false for `no-store`, `private` (then `private` is true: for this caller
   * alone, never shared with coalesced ones) and answers that could never be reused.
   */
  | { readonly source: 'miss'; readonly entry: CachedPlacement; readonly stored: boolean; readonly private: boolean; readonly fetched: R }
  /**
   * Klarna failed and a copy within its stale-if-error window serves. `fetched` is undefined when
   * Klarna failed moments ago and was not asked again (see `failureBackoffMs`).
   */
  | { readonly source: 'stale'; readonly entry: CachedPlacement; readonly fetched: R | undefined }
  /** Klarna failed and nothing may serve. */
  | { readonly source: 'error'; readonly fetched: R }
);

export type PlacementCacheOptions = {
  readonly store: PlacementStore;
  readonly memoryEntries: number;
  readonly defaultTtlSeconds: number;
  readonly clock?: Clock;
  /**
   * After a failed fetch, how long a stale copy serves at once without asking Klarna again, so an
   * outage (or a hanging Klarna) costs one timeout per key and container, not one per request.
   */
  readonly failureBackoffMs?: number;
  /** DynamoDB trouble is reported, never fatal: Klarna is asked instead. */
  readonly onStoreError?: (operation: 'get' | 'put', error: unknown) => void;
};

export class PlacementCache {
  private readonly memory: MemoryLru<CachedPlacement>;
  private readonly inFlight = new Map<string, Promise<CacheLookup<FetchLike>>>();
  /** Key → until when Klarna is not asked again after a failure (a stale copy serves). */
  private readonly failedUntil: MemoryLru<number>;
  private readonly clock: Clock;
  private readonly failureBackoffMs: number;

  constructor(private readonly options: PlacementCacheOptions) {
    this.memory = new MemoryLru(options.memoryEntries);
    this.failedUntil = new MemoryLru(options.memoryEntries);
    this.clock = options.clock ?? Date.now;
    this.failureBackoffMs = options.failureBackoffMs ?? 5000;
  }

  /**
   * A fresh copy if there is one, else one fetch (shared by every concurrent caller of the same
   * key in this container, unless its answer is private), stored as Klarna's Cache-Control allows;
   * when the fetch fails, a copy still inside its stale-if-error window.
   */
  get<R extends FetchLike>(key: CacheKey, fetch: () => Promise<R>): Promise<CacheLookup<R>> {
    const id = keyString(key);
    const remembered = this.memory.get(id);
    if (remembered !== undefined) {
      const now = this.clock();
      const freshness = freshnessAt(remembered, now);
      if (freshness === 'fresh') return Promise.resolve({ source: 'hit', entry: remembered });
      if (freshness === 'expired') this.memory.delete(id);
      else if (now < (this.failedUntil.get(id) ?? 0)) {
        return Promise.resolve({ source: 'stale', entry: remembered, fetched: undefined });
      }
    }
    const pending = this.inFlight.get(id);
    // Followers get the leader's outcome, marked so a log counts the fetch once; a private answer
    // is the leader's alone, so then each follower asks Klarna for its own.
    if (pending !== undefined) {
      return pending.then(
        (lookup): CacheLookup<FetchLike> | Promise<CacheLookup<FetchLike>> =>
          lookup.source === 'miss' && lookup.private ? this.fetchAndKeep(key, id, undefined, fetch) : { ...lookup, coalesced: true },
      ) as Promise<CacheLookup<R>>;
    }
    const flight = this.lookUpAndFetch(key, id, fetch).finally(() => this.inFlight.delete(id));
    this.inFlight.set(id, flight);
    return flight;
  }

  /** The copy a stored impression URL may come from: anything not past its last servable moment. */
  async peek(key: CacheKey): Promise<CachedPlacement | undefined> {
    const id = keyString(key);
    const remembered = this.memory.get(id);
    if (remembered !== undefined && freshnessAt(remembered, this.clock()) !== 'expired') return remembered;
    const stored = await this.readStore(key);
    return stored !== undefined && freshnessAt(stored, this.clock()) !== 'expired' ? stored : undefined;
  }

  private async lookUpAndFetch<R extends FetchLike>(key: CacheKey, id: string, fetch: () => Promise<R>): Promise<CacheLookup<R>> {
    const stored = await this.readStore(key);
    if (stored !== undefined && freshnessAt(stored, this.clock()) === 'fresh') {
      this.memory.set(id, stored);
      return { source: 'hit', entry: stored };
    }
    return this.fetchAndKeep(key, id, stored, fetch);
  }

  /** Asks Klarna and keeps what its Cache-Control allows; on failure, a copy still servable. */
  private async fetchAndKeep<R extends FetchLike>(
    key: CacheKey,
    id: string,
    stored: CachedPlacement | undefined,
    fetch: () => Promise<R>,
  ): Promise<CacheLookup<R>> {
    const fetched = await fetch();
    const now = this.clock();
    if (fetched.ok) {
      const ageSeconds = parseAge(fetched.age) ?? 0;
      const policy = cachePolicy(fetched.cacheControl, this.options.defaultTtlSeconds, ageSeconds);
      const browser = browserPolicy(fetched.cacheControl, this.options.defaultTtlSeconds, ageSeconds);
      const entry = cacheEntry(fetched.placement, policy, now, browser.maxAgeSeconds);
      if (!policy.store) {
        this.failedUntil.delete(id);
        this.memory.delete(id);
        return { source: 'miss', entry, stored: false, private: browser.private, fetched };
      }
      this.failedUntil.delete(id);
      this.memory.set(id, entry);
      try {
        await this.options.store.put(key, entry);
      } catch (error) {
        this.options.onStoreError?.('put', error);
      }
      return { source: 'miss', entry, stored: true, private: false, fetched };
    }
    // Klarna failed: the newest copy we know of, if its stale-if-error window is still open.
    const candidates = [this.memory.get(id), stored].filter((e): e is CachedPlacement => e !== undefined);
    const newest = candidates.sort((a, b) => b.fetchedAtMs - a.fetchedAtMs)[0];
    if (newest !== undefined && freshnessAt(newest, now) !== 'expired') {
      this.memory.set(id, newest);
      this.failedUntil.set(id, now + this.failureBackoffMs);
      return { source: 'stale', entry: newest, fetched };
    }
    return { source: 'error', fetched };
  }

  private async readStore(key: CacheKey): Promise<CachedPlacement | undefined> {
    try {
      return await this.options.store.get(key);
    } catch (error) {
      this.options.onStoreError?.('get', error);
      return undefined;
    }
  }
}
