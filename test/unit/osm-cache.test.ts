import HttpCachePolicy from 'http-cache-semantics';
import { MemoryLru, PlacementCache, type FetchLike, type PlacementStore } from '../../functions/osm/cache.js';
import {
  browserCacheControl,
  browserPolicy,
  cacheEntry,
  cachePolicy,
  freshnessAt,
  newerCopy,
  normalisedCacheControl,
  parseAge,
  parseCacheControl,
  placementCacheKey,
  remainingMaxAge,
  ttlEpochSeconds,
  type CacheKey,
  type CachedPlacement,
} from '../../functions/osm/cache-policy.js';
import { DynamoPlacementStore } from '../../functions/osm/store.js';
import type { OsmContent } from '../../functions/osm/render.js';

describe('OSM parseCacheControl', () => {
  it('reads max-age, s-maxage, stale-if-error, no-store and no-cache, case-insensitively', () => {
    expect(parseCacheControl('Public, MAX-AGE=60, s-maxage=120, stale-if-error=300, No-Cache, no-store')).toEqual({
      noStore: true,
      noCache: true,
      maxAge: 60,
      sMaxage: 120,
      staleIfError: 300,
      others: ['public'],
    });
  });

  it('reads nothing from a missing or empty header', () => {
    expect(parseCacheControl(undefined)).toEqual({ noStore: false, noCache: false });
    expect(parseCacheControl('')).toEqual({ noStore: false, noCache: false });
  });

  it('counts a malformed delta-seconds as 0 and accepts a quoted one', () => {
    expect(parseCacheControl('max-age=abc').maxAge).toBe(0);
    expect(parseCacheControl('max-age=-5').maxAge).toBe(0);
    expect(parseCacheControl('max-age').maxAge).toBe(0);
    expect(parseCacheControl('max-age="30"').maxAge).toBe(30);
  });

  it.each([['10abc'], ['1.5'], ['1=2'], ['5"0"'], ['"5"0']])('reads max-age=%s as 0: only one plain or fully quoted integer counts', (value) => {
    expect(parseCacheControl(`max-age=${value}`).maxAge).toBe(0);
  });

  it('keeps among the other directives only well-formed names', () => {
    expect(parseCacheControl('public, no cache, @immutable, immutable!, x-custom-1').others).toEqual(['public', 'x-custom-1']);
  });

  it('keeps the smallest value of a repeated directive, in either order, and caps at 2^31-1', () => {
    expect(parseCacheControl('max-age=60, max-age=10').maxAge).toBe(10);
    expect(parseCacheControl('max-age=10, max-age=60').maxAge).toBe(10);
    expect(parseCacheControl('s-maxage=5, S-MAXAGE=50, stale-if-error=7, stale-if-error=70')).toMatchObject({ sMaxage: 5, staleIfError: 7 });
    // What reaches the policy too: ten seconds, not sixty.
    expect(cachePolicy('max-age=10, max-age=60').freshSeconds).toBe(10);
    expect(parseCacheControl('max-age=99999999999999').maxAge).toBe(2 ** 31 - 1);
  });

  it('reads private, plain or qualified with field names, and nothing else as private', () => {
    expect(parseCacheControl('Private, max-age=60')).toEqual({ noStore: false, noCache: false, private: true, maxAge: 60 });
    expect(parseCacheControl('private="set-cookie, x-shopper", max-age=60').private).toBe(true);
    expect(parseCacheControl('public, max-age=60').private).toBeUndefined();
  });
});

describe('OSM parseAge', () => {
  it('reads Age as a non-negative integer, capped at 2^31-1', () => {
    expect(parseAge('30')).toBe(30);
    expect(parseAge(' 0 ')).toBe(0);
    expect(parseAge('99999999999999')).toBe(2 ** 31 - 1);
  });

  it.each([[undefined], [null], [''], ['-5'], ['1.5'], ['abc'], ['"30"'], ['10, 20'], ['3e2']])(
    'ignores a missing or invalid Age: %p',
    (header) => {
      expect(parseAge(header)).toBeUndefined();
    },
  );
});

describe('OSM cachePolicy', () => {
  it('prefers s-maxage over max-age (ours is a shared cache)', () => {
    expect(cachePolicy('max-age=60, s-maxage=10')).toEqual({ store: true, freshSeconds: 10, staleIfErrorSeconds: 0 });
    expect(cachePolicy('max-age=60')).toEqual({ store: true, freshSeconds: 60, staleIfErrorSeconds: 0 });
  });

  it('never stores no-store, whatever else is said or configured', () => {
    expect(cachePolicy('no-store, max-age=60, stale-if-error=60', 30)).toEqual({ store: false, freshSeconds: 0, staleIfErrorSeconds: 0 });
  });

  it('treats no-cache and a missing header as "ask again"; a default TTL applies to the missing header only', () => {
    expect(cachePolicy('no-cache, max-age=60')).toEqual({ store: false, freshSeconds: 0, staleIfErrorSeconds: 0 });
    expect(cachePolicy(undefined)).toEqual({ store: false, freshSeconds: 0, staleIfErrorSeconds: 0 });
    expect(cachePolicy(undefined, 30)).toEqual({ store: true, freshSeconds: 30, staleIfErrorSeconds: 0 });
    expect(cachePolicy('no-cache', 30).freshSeconds).toBe(0);
    expect(cachePolicy('max-age=5', 30).freshSeconds).toBe(5);
    expect(cachePolicy('max-age=90', 30).freshSeconds).toBe(90);
  });

  it('never overrides an explicit directive with the default TTL', () => {
    const notStored = { store: false, freshSeconds: 0, staleIfErrorSeconds: 0 };
    expect(cachePolicy('no-cache', 30)).toEqual(notStored);
    expect(cachePolicy('max-age=0', 30)).toEqual(notStored);
    expect(cachePolicy('s-maxage=0', 30)).toEqual(notStored);
    expect(cachePolicy('private', 30)).toEqual(notStored);
    expect(browserPolicy('private', 30)).toEqual({ private: true, maxAgeSeconds: 0 });
    expect(cachePolicy('no-store', 30)).toEqual(notStored);
    expect(cachePolicy('s-maxage=5', 30).freshSeconds).toBe(5);
    expect(browserPolicy('no-cache', 30).maxAgeSeconds).toBe(0);
    expect(browserPolicy('max-age=5', 30).maxAgeSeconds).toBe(5);
  });

  it('applies the default TTL when no directive speaks of freshness (public, stale-if-error, unknown ones)', () => {
    expect(cachePolicy('public', 30)).toEqual({ store: true, freshSeconds: 30, staleIfErrorSeconds: 0 });
    expect(cachePolicy('stale-if-error=60, immutable', 30)).toEqual({ store: true, freshSeconds: 30, staleIfErrorSeconds: 60 });
    expect(browserPolicy(undefined, 30)).toEqual({ private: false, maxAgeSeconds: 30 });
  });

  it('never stores a private answer in the shared caches, whatever else is said or configured', () => {
    const notStored = { store: false, freshSeconds: 0, staleIfErrorSeconds: 0 };
    expect(cachePolicy('private, max-age=60')).toEqual(notStored);
    expect(cachePolicy('private, s-maxage=60, max-age=60, stale-if-error=600', 30)).toEqual(notStored);
    expect(cachePolicy('public, private="set-cookie", max-age=60')).toEqual(notStored);
  });

  it('counts Age against the lifetime: max(0, max-age - Age), and against the stale-if-error window', () => {
    expect(cachePolicy('max-age=60', 0, 20)).toEqual({ store: true, freshSeconds: 40, staleIfErrorSeconds: 0 });
    expect(cachePolicy('max-age=60', 0, 60)).toEqual({ store: false, freshSeconds: 0, staleIfErrorSeconds: 0 });
    expect(cachePolicy('max-age=60', 0, 600)).toEqual({ store: false, freshSeconds: 0, staleIfErrorSeconds: 0 });
    expect(cachePolicy('max-age=10, s-maxage=100', 0, 30).freshSeconds).toBe(70);
    expect(cachePolicy('max-age=10, stale-if-error=30', 0, 5)).toEqual({ store: true, freshSeconds: 5, staleIfErrorSeconds: 30 });
    expect(cachePolicy('max-age=10, stale-if-error=30', 0, 25)).toEqual({ store: true, freshSeconds: 0, staleIfErrorSeconds: 15 });
    expect(cachePolicy('max-age=10, stale-if-error=30', 0, 40).store).toBe(false);
    expect(cachePolicy(undefined, 30, 10).freshSeconds).toBe(20);
  });

  it('stores a no-cache answer that has a stale-if-error window, for errors only', () => {
    expect(cachePolicy('no-cache, stale-if-error=120')).toEqual({ store: true, freshSeconds: 0, staleIfErrorSeconds: 120 });
  });
});

describe('OSM browserPolicy', () => {
  it('gives the browser max-age, never s-maxage, less Age', () => {
    expect(browserPolicy('max-age=60, s-maxage=300')).toEqual({ private: false, maxAgeSeconds: 60 });
    expect(browserPolicy('max-age=300, s-maxage=60')).toEqual({ private: false, maxAgeSeconds: 300 });
    expect(browserPolicy('max-age=60, s-maxage=300', 0, 45)).toEqual({ private: false, maxAgeSeconds: 15 });
    expect(browserPolicy('max-age=60', 0, 100).maxAgeSeconds).toBe(0);
  });

  it('gives the browser nothing to reuse when Klarna sent s-maxage alone', () => {
    expect(browserPolicy('s-maxage=300')).toEqual({ private: false, maxAgeSeconds: 0 });
    expect(browserPolicy('s-maxage=300', 30).maxAgeSeconds).toBe(0);
  });

  it('keeps private with its max-age less Age, unless no-store says nobody may keep it', () => {
    expect(browserPolicy('private, max-age=60', 0, 15)).toEqual({ private: true, maxAgeSeconds: 45 });
    expect(browserPolicy('private')).toEqual({ private: true, maxAgeSeconds: 0 });
    expect(browserPolicy('private, no-store, max-age=60').private).toBe(false);
  });
});

describe('OSM browserCacheControl', () => {
  const at = (freshSeconds: number, browserSeconds: number) =>
    cacheEntry({ content: null, impressionUrl: null }, { store: true, freshSeconds, staleIfErrorSeconds: 0 }, 0, browserSeconds);

  it('passes a private answer on as private with its max-age, never as public', () => {
    const entry = cacheEntry({ content: null, impressionUrl: null }, cachePolicy('private, max-age=60'), 0, 45);
    expect(browserCacheControl({ source: 'miss', stored: false, private: true, entry }, 0)).toBe('private, max-age=45');
  });

  it('tells browsers what remains of max-age, not of s-maxage, on a miss and on a hit', () => {
    const entry = at(300, 60); // max-age=60, s-maxage=300
    expect(browserCacheControl({ source: 'miss', stored: true, private: false, entry }, 0)).toBe('public, max-age=60');
    expect(browserCacheControl({ source: 'hit', entry }, 20_000)).toBe('public, max-age=40');
    expect(browserCacheControl({ source: 'hit', entry }, 100_000)).toBe('public, max-age=0');
  });

  it('answers max-age=0 for s-maxage alone, no-store for answers not kept, and max-age=0 when stale', () => {
    expect(browserCacheControl({ source: 'miss', stored: true, private: false, entry: at(300, 0) }, 0)).toBe('public, max-age=0');
    expect(browserCacheControl({ source: 'miss', stored: false, private: false, entry: at(0, 0) }, 0)).toBe('no-store');
    expect(browserCacheControl({ source: 'stale' }, 0)).toBe('public, max-age=0');
  });
});

describe('OSM entries and freshness', () => {
  const placement = { content: null, impressionUrl: null };

  it('is fresh until max-age, stale within stale-if-error after it, then expired', () => {
    const entry = cacheEntry(placement, { store: true, freshSeconds: 60, staleIfErrorSeconds: 30 }, 1_000_000);
    expect(entry).toMatchObject({ fetchedAtMs: 1_000_000, freshUntilMs: 1_060_000, staleUntilMs: 1_090_000 });
    expect(freshnessAt(entry, 1_000_000)).toBe('fresh');
    expect(freshnessAt(entry, 1_059_999)).toBe('fresh');
    expect(freshnessAt(entry, 1_060_000)).toBe('stale');
    expect(freshnessAt(entry, 1_089_999)).toBe('stale');
    expect(freshnessAt(entry, 1_090_000)).toBe('expired');
  });

  it('tells the remaining max-age in whole seconds, never negative', () => {
    const entry = cacheEntry(placement, { store: true, freshSeconds: 60, staleIfErrorSeconds: 0 }, 0);
    expect(remainingMaxAge(entry, 0)).toBe(60);
    expect(remainingMaxAge(entry, 15_500)).toBe(44);
    expect(remainingMaxAge(entry, 61_000)).toBe(0);
  });

  it('sets the TTL attribute to the last servable second, rounded up', () => {
    expect(ttlEpochSeconds({ staleUntilMs: 1_700_000_000_001 })).toBe(1_700_000_001);
    expect(ttlEpochSeconds({ staleUntilMs: 1_700_000_000_000 })).toBe(1_700_000_000);
  });

  it('keys by placement identity with the amount as sort key (-1 without an amount)', () => {
    const base = { endpointId: 'playground|eu', clientId: 'c1', placementKey: 'credit-promotion-badge', locale: 'en-US' };
    expect(placementCacheKey({ ...base, purchaseAmount: 12900 })).toEqual({
      placementId: 'playground|eu|c1|credit-promotion-badge|en-US',
      purchaseAmount: 12900,
    });
    expect(placementCacheKey({ ...base, purchaseAmount: null }).purchaseAmount).toBe(-1);
  });
});

describe('OSM newerCopy', () => {
  it('picks the copy fetched last, whichever argument it is, and the one there is', () => {
    const a = { fetchedAtMs: 1 };
    const b = { fetchedAtMs: 2 };
    expect(newerCopy(a, b)).toBe(b);
    expect(newerCopy(b, a)).toBe(b);
    expect(newerCopy(a, undefined)).toBe(a);
    expect(newerCopy(undefined, b)).toBe(b);
    expect(newerCopy(undefined, undefined)).toBeUndefined();
  });

  it('keeps the first copy (memory’s) when both were fetched at the same moment', () => {
    const memory = { fetchedAtMs: 1, from: 'memory' };
    const store = { fetchedAtMs: 1, from: 'store' };
    expect(newerCopy(memory, store)).toBe(memory);
  });
});

describe('OSM normalisedCacheControl: what http-cache-semantics is given', () => {
  it('is lower-case with one value per directive, unknown directives kept', () => {
    expect(normalisedCacheControl(parseCacheControl('Public, MAX-AGE=60, max-age=10, S-MaxAge=x, Stale-If-Error=5, Private, No-Cache, No-Store, Immutable'))).toBe(
      'no-store, no-cache, private, max-age=10, s-maxage=0, stale-if-error=5, public, immutable',
    );
    expect(normalisedCacheControl(parseCacheControl(undefined))).toBe('');
  });

  it('is needed: the library alone keeps the last of a repeated directive and reads directive names case-sensitively', () => {
    const raw = (header: string) =>
      new HttpCachePolicy({ url: '/', headers: {} }, { status: 200, headers: { 'cache-control': header } }, { shared: true }).maxAge();
    expect(raw('max-age=10, max-age=60')).toBe(60);
    expect(raw('MAX-AGE=60')).toBe(0);
    expect(cachePolicy('max-age=10, max-age=60').freshSeconds).toBe(10);
    expect(cachePolicy('MAX-AGE=60').freshSeconds).toBe(60);
  });

  it('gives immutable no 24-hour floor and proxy-revalidate no lifetime in our shared caches', () => {
    expect(cachePolicy('immutable', 30)).toEqual({ store: true, freshSeconds: 30, staleIfErrorSeconds: 0 });
    expect(cachePolicy('max-age=60, proxy-revalidate').freshSeconds).toBe(0);
    expect(browserPolicy('max-age=60, proxy-revalidate').maxAgeSeconds).toBe(60);
  });
});

describe('OSM MemoryLru', () => {
  it('evicts the least recently used entry beyond its bound', () => {
    const lru = new MemoryLru<number>(2);
    lru.set('a', 1);
    lru.set('b', 2);
    expect(lru.get('a')).toBe(1); // a is now younger than b
    lru.set('c', 3);
    expect(lru.get('b')).toBeUndefined();
    expect(lru.get('a')).toBe(1);
    expect(lru.get('c')).toBe(3);
    expect(lru.size).toBe(2);
  });

  it('holds nothing when bounded to 0 entries', () => {
    const lru = new MemoryLru<number>(0);
    lru.set('a', 1);
    expect(lru.get('a')).toBeUndefined();
  });
});

// The cache's decisions with a Map for a store and a scripted fetch: no I/O.
describe('OSM PlacementCache', () => {
  const content: OsmContent = { nodes: [{ type: 'TEXT', value: 'Pay in 4.' }] };
  const key: CacheKey = { placementId: 'p', purchaseAmount: 100 };

  const setup = (memoryEntries = 10, defaultTtlSeconds = 0) => {
    let now = 1_000_000;
    const items = new Map<string, CachedPlacement>();
    const store: PlacementStore = {
      get: async (k) => items.get(`${k.placementId}#${k.purchaseAmount}`),
      put: async (k, e) => void items.set(`${k.placementId}#${k.purchaseAmount}`, e),
    };
    const cache = new PlacementCache({ store, memoryEntries, defaultTtlSeconds, clock: () => now });
    let fetches = 0;
    const answer = (cacheControl: string | undefined, ok = true, age?: string) => async (): Promise<FetchLike> => {
      fetches += 1;
      return ok ? { ok: true, placement: { content, impressionUrl: 'https://i.example/1' }, cacheControl, age } : { ok: false };
    };
    return {
      cache,
      items,
      answer,
      fetches: () => fetches,
      advance: (ms: number) => void (now += ms),
    };
  };

  it('fetches on a miss, then serves hits within max-age without fetching', async () => {
    const t = setup();
    expect((await t.cache.get(key, t.answer('max-age=60'))).source).toBe('miss');
    t.advance(59_000);
    expect((await t.cache.get(key, t.answer('max-age=60'))).source).toBe('hit');
    expect(t.fetches()).toBe(1);
    t.advance(1_000);
    expect((await t.cache.get(key, t.answer('max-age=60'))).source).toBe('miss');
    expect(t.fetches()).toBe(2);
  });

  it('serves a hit from the store when memory is disabled (another container)', async () => {
    const t = setup(0);
    await t.cache.get(key, t.answer('max-age=60'));
    expect((await t.cache.get(key, t.answer('max-age=60'))).source).toBe('hit');
    expect(t.fetches()).toBe(1);
  });

  it('does not store a no-store answer', async () => {
    const t = setup();
    const first = await t.cache.get(key, t.answer('no-store'));
    expect(first).toMatchObject({ source: 'miss', stored: false });
    expect(t.items.size).toBe(0);
    expect((await t.cache.get(key, t.answer('no-store'))).source).toBe('miss');
    expect(t.fetches()).toBe(2);
  });

  it('serves stale within stale-if-error when the fetch fails, and errors after the window', async () => {
    const t = setup();
    await t.cache.get(key, t.answer('max-age=10, stale-if-error=20'));
    t.advance(25_000);
    expect((await t.cache.get(key, t.answer(undefined, false))).source).toBe('stale');
    t.advance(5_000);
    expect((await t.cache.get(key, t.answer(undefined, false))).source).toBe('error');
    expect(t.fetches()).toBe(3);
  });

  it('after a failure, serves the stale copy at once for the backoff, then asks Klarna again', async () => {
    const t = setup();
    await t.cache.get(key, t.answer('max-age=10, stale-if-error=60'));
    t.advance(15_000);
    expect(await t.cache.get(key, t.answer(undefined, false))).toMatchObject({ source: 'stale', fetched: { ok: false } });
    t.advance(4_999);
    expect(await t.cache.get(key, t.answer(undefined, false))).toMatchObject({ source: 'stale', fetched: undefined });
    expect(t.fetches()).toBe(2);
    t.advance(1);
    expect((await t.cache.get(key, t.answer('max-age=10'))).source).toBe('miss');
    expect(t.fetches()).toBe(3);
  });

  /** Three gets of one key that all start before Klarna's answer (with `header`) arrives. */
  const concurrentGets = async (t: ReturnType<typeof setup>, header: string) => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const slow = async (): Promise<FetchLike> => {
      await gate;
      return t.answer(header)();
    };
    const all = Promise.all([t.cache.get(key, slow), t.cache.get(key, slow), t.cache.get(key, slow)]);
    release();
    return all;
  };

  it('shares one fetch between concurrent misses of one key', async () => {
    const t = setup();
    const results = await concurrentGets(t, 'max-age=60');
    expect(t.fetches()).toBe(1);
    expect(results.map((r) => r.source)).toEqual(['miss', 'miss', 'miss']);
    expect(results.map((r) => r.coalesced ?? false)).toEqual([false, true, true]);
  });

  it('keeps a private answer in neither memory nor the store, and asks Klarna again next time', async () => {
    const t = setup();
    expect(await t.cache.get(key, t.answer('private, max-age=60'))).toMatchObject({ source: 'miss', stored: false, private: true });
    expect(t.items.size).toBe(0);
    expect(await t.cache.get(key, t.answer('private, max-age=60'))).toMatchObject({ source: 'miss', private: true });
    expect(t.fetches()).toBe(2);
  });

  it('remembers a failure without a stale copy for the backoff: the same error, Klarna not asked', async () => {
    const t = setup();
    expect(await t.cache.get(key, t.answer(undefined, false))).toMatchObject({ source: 'error', fetched: { ok: false } });
    t.advance(4_999);
    const again = await t.cache.get(key, t.answer('max-age=60'));
    expect(again).toMatchObject({ source: 'error', remembered: true, fetched: { ok: false } });
    expect(t.fetches()).toBe(1);
    t.advance(1);
    expect((await t.cache.get(key, t.answer('max-age=60'))).source).toBe('miss');
    expect(t.fetches()).toBe(2);
  });

  it('remembers failures with the memory cache off, and keeps the stale copy it found in the store', async () => {
    const t = setup(0);
    await t.cache.get(key, t.answer('max-age=10, stale-if-error=60'));
    t.advance(15_000);
    expect(await t.cache.get(key, t.answer(undefined, false))).toMatchObject({ source: 'stale', fetched: { ok: false } });
    expect(await t.cache.get(key, t.answer(undefined, false))).toMatchObject({ source: 'stale', fetched: undefined });
    expect(t.fetches()).toBe(2);
  });

  it('falls back to the newer of the memory and store copies when Klarna fails, whichever holds it', async () => {
    const older = (at: number, url: string): CachedPlacement => ({
      content,
      impressionUrl: url,
      fetchedAtMs: at,
      freshUntilMs: at + 10_000,
      staleUntilMs: at + 600_000,
      maxAgeUntilMs: at + 10_000,
    });
    // Memory older than the store (another container fetched later) …
    const t = setup();
    await t.cache.get(key, async () => ({ ok: true, placement: { content, impressionUrl: 'https://i.example/memory' }, cacheControl: 'max-age=10, stale-if-error=600' }));
    t.advance(5_000);
    t.items.set(`${key.placementId}#${key.purchaseAmount}`, older(1_005_000, 'https://i.example/store'));
    t.advance(20_000);
    const fromStore = await t.cache.get(key, t.answer(undefined, false));
    expect(fromStore.source === 'stale' && fromStore.entry.impressionUrl).toBe('https://i.example/store');
    // … and the store older than memory.
    const u = setup();
    u.items.set(`${key.placementId}#${key.purchaseAmount}`, older(900_000, 'https://i.example/store'));
    await u.cache.get(key, async () => ({ ok: true, placement: { content, impressionUrl: 'https://i.example/memory' }, cacheControl: 'max-age=10, stale-if-error=600' }));
    u.advance(20_000);
    const fromMemory = await u.cache.get(key, u.answer(undefined, false));
    expect(fromMemory.source === 'stale' && fromMemory.entry.impressionUrl).toBe('https://i.example/memory');
  });

  it('does not hand one caller’s private answer to concurrent callers: each asks Klarna for its own', async () => {
    const t = setup();
    const results = await concurrentGets(t, 'private, max-age=60');
    expect(t.fetches()).toBe(3);
    expect(results.map((r) => [r.source, r.coalesced ?? false])).toEqual([
      ['miss', false],
      ['miss', false],
      ['miss', false],
    ]);
    expect(t.items.size).toBe(0);
  });

  it('counts Age against max-age: fresh for max-age - Age, then asks again', async () => {
    const t = setup();
    const first = await t.cache.get(key, t.answer('max-age=60', true, '45'));
    expect(first.source === 'miss' && first.entry).toMatchObject({ freshUntilMs: 1_015_000, maxAgeUntilMs: 1_015_000 });
    t.advance(14_999);
    expect((await t.cache.get(key, t.answer('max-age=60'))).source).toBe('hit');
    t.advance(1);
    expect((await t.cache.get(key, t.answer('max-age=60', true, 'not-a-number'))).source).toBe('miss');
    t.advance(59_999); // the invalid Age was ignored: a full 60 s
    expect((await t.cache.get(key, t.answer('max-age=60'))).source).toBe('hit');
    expect(t.fetches()).toBe(2);
  });

  it('keeps a copy for s-maxage but remembers max-age for browsers', async () => {
    const t = setup();
    const first = await t.cache.get(key, t.answer('max-age=10, s-maxage=120'));
    expect(first.source === 'miss' && first.entry).toMatchObject({ freshUntilMs: 1_120_000, maxAgeUntilMs: 1_010_000 });
    t.advance(30_000);
    const hit = await t.cache.get(key, t.answer('max-age=10, s-maxage=120'));
    expect(hit.source).toBe('hit');
    expect(hit.source === 'hit' && browserCacheControl(hit, 1_030_000)).toBe('public, max-age=0');
    expect(t.fetches()).toBe(1);
  });

  it('asks Klarna every time for no-cache and max-age=0 even with a default TTL', async () => {
    const t = setup(10, 300);
    for (const cacheControl of ['no-cache', 'max-age=0']) {
      expect(await t.cache.get(key, t.answer(cacheControl))).toMatchObject({ source: 'miss', stored: false });
      expect(await t.cache.get(key, t.answer(cacheControl))).toMatchObject({ source: 'miss', stored: false });
    }
    expect(t.fetches()).toBe(4);
    await t.cache.get(key, t.answer(undefined));
    expect((await t.cache.get(key, t.answer(undefined))).source).toBe('hit');
    expect(t.fetches()).toBe(5);
  });

  it('answers from Klarna when the store fails, and reports the failure', async () => {
    const errors: string[] = [];
    const cache = new PlacementCache({
      store: {
        get: async () => Promise.reject(new Error('throttled')),
        put: async () => Promise.reject(new Error('throttled')),
      },
      memoryEntries: 10,
      defaultTtlSeconds: 0,
      onStoreError: (operation) => errors.push(operation),
    });
    const result = await cache.get(key, async () => ({ ok: true, placement: { content, impressionUrl: null }, cacheControl: 'max-age=5' }));
    expect(result.source).toBe('miss');
    expect(errors).toEqual(['get', 'put']);
  });
});

describe('OSM DynamoPlacementStore', () => {
  const key: CacheKey = { placementId: 'p', purchaseAmount: 100 };
  const item = {
    placement_id: 'p',
    purchase_amount: 100,
    content: { nodes: [{ type: 'TEXT', value: 'Pay in 4.' }] },
    impression_url: 'https://i.example/1',
    fetched_at_ms: 1_000,
    fresh_until_ms: 61_000,
    stale_until_ms: 61_000,
  };
  const storeAnswering = (answer: Record<string, unknown> | undefined) => {
    const sent: unknown[] = [];
    const send = async (command: { input: unknown }) => {
      sent.push(command.input);
      return { Item: answer };
    };
    return { store: new DynamoPlacementStore({ send } as never, 'placements'), sent };
  };

  it('writes and reads the browsers’ max_age_until_ms', async () => {
    const { store, sent } = storeAnswering({ ...item, max_age_until_ms: 11_000 });
    expect(await store.get(key)).toMatchObject({ freshUntilMs: 61_000, maxAgeUntilMs: 11_000 });
    await store.put(key, { content: null, impressionUrl: null, fetchedAtMs: 0, freshUntilMs: 5_000, staleUntilMs: 5_000, maxAgeUntilMs: 2_000 });
    expect(sent[1]).toMatchObject({ Item: { fresh_until_ms: 5_000, max_age_until_ms: 2_000 } });
  });

  it('counts an item without max_age_until_ms (written before private was honoured) as a miss', async () => {
    expect(await storeAnswering(item).store.get(key)).toBeUndefined();
  });
});
