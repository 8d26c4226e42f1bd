/**
 * The OSM placement cache, put together: a bounded in-memory LRU per Lambda container in front of
 * a store (DynamoDB, store.ts), how long to keep what from cache-policy.ts, and concurrent misses
 * of one key in a container sharing a single lookup and fetch (a `private` answer excepted).
 * Klarna's failures are remembered briefly per key, so a failing key is not asked on every
 * request, with or without a stale copy. The clock is injected so tests can move time.
 */
import {
  freshnessAt,
  newerCopy,
  parseAge,
  policiesFor,
  cacheEntry,
  type CacheKey,
  type CachedPlacement,
  type Clock,
} from './cache-policy.js';
import type { OsmContent } from './render.js';

/** The port the cache needs from a store; the DynamoDB table is one, a Map in tests another. */
export interface PlacementStore {
  get(key: CacheKey): Promise<CachedPlacement | undefined>;
  put(key: CacheKey, entry: CachedPlacement): Promise<void>;
}

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
  /**
   * Klarna failed and nothing may serve. `remembered`: the failure is one of moments ago, repeated
   * without asking Klarna again.
   */
  | { readonly source: 'error'; readonly fetched: R; readonly remembered?: boolean }
);

export type PlacementCacheOptions = {
  readonly store: PlacementStore;
  readonly memoryEntries: number;
  readonly defaultTtlSeconds: number;
  readonly clock?: Clock;
  /**
   * After a failed fetch, how long the key is not asked of Klarna again: a stale copy serves at
   * once, or else the same failure is answered, so an outage (or a hanging Klarna) costs one
   * timeout per key and container, not one per request.
   */
  readonly failureBackoffMs?: number;
  /** DynamoDB trouble is reported, never fatal: Klarna is asked instead. */
  readonly onStoreError?: (operation: 'get' | 'put', error: unknown) => void;
};

/** A failure remembered for a key: until when, what Klarna answered, and a copy that may serve. */
type Failure = { readonly untilMs: number; readonly fetched: FetchLike; readonly stale: CachedPlacement | undefined };

/** Failures are remembered even with the memory cache off (they hold no content worth sharing). */
const FAILURE_ENTRIES = 1000;

export class PlacementCache {
  private readonly memory: MemoryLru<CachedPlacement>;
  private readonly inFlight = new Map<string, Promise<CacheLookup<FetchLike>>>();
  private readonly failures = new MemoryLru<Failure>(FAILURE_ENTRIES);
  private readonly clock: Clock;
  private readonly failureBackoffMs: number;

  constructor(private readonly options: PlacementCacheOptions) {
    this.memory = new MemoryLru(options.memoryEntries);
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
    const now = this.clock();
    const remembered = this.memory.get(id);
    if (remembered !== undefined) {
      const freshness = freshnessAt(remembered, now);
      if (freshness === 'fresh') return Promise.resolve({ source: 'hit', entry: remembered });
      if (freshness === 'expired') this.memory.delete(id);
    }
    const failure = this.failures.get(id);
    if (failure !== undefined && now < failure.untilMs) {
      const stale = newerCopy(failure.stale, remembered);
      if (stale !== undefined && freshnessAt(stale, now) !== 'expired') {
        return Promise.resolve({ source: 'stale', entry: stale, fetched: undefined });
      }
      return Promise.resolve({ source: 'error', fetched: failure.fetched as R, remembered: true });
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
      this.failures.delete(id);
      const { shared, browser } = policiesFor(fetched.cacheControl, this.options.defaultTtlSeconds, parseAge(fetched.age) ?? 0);
      const entry = cacheEntry(fetched.placement, shared, now, browser.maxAgeSeconds);
      if (!shared.store) {
        this.memory.delete(id);
        return { source: 'miss', entry, stored: false, private: browser.private, fetched };
      }
      this.memory.set(id, entry);
      try {
        await this.options.store.put(key, entry);
      } catch (error) {
        this.options.onStoreError?.('put', error);
      }
      return { source: 'miss', entry, stored: true, private: false, fetched };
    }
    // Klarna failed: the newest copy we know of, if its stale-if-error window is still open.
    const newest = newerCopy(this.memory.get(id), stored);
    const servable = newest !== undefined && freshnessAt(newest, now) !== 'expired' ? newest : undefined;
    this.failures.set(id, { untilMs: now + this.failureBackoffMs, fetched, stale: servable });
    if (servable !== undefined) {
      this.memory.set(id, servable);
      return { source: 'stale', entry: servable, fetched };
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
