/**
 * The figures `npm run load` and `npm run bench` print: nearest-rank percentiles, checked by value
 * (the load test only checks that p50 ≤ p90 ≤ p99, which a wrong rank still satisfies).
 */
import { latencyStats, percentile } from '../../bin/local/load.js';
import { ratio, summarize } from '../../bin/bench/stats.js';

/** 1, 2, …, n. */
const upTo = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);

describe('percentile (nearest rank, no interpolation)', () => {
  it('is the ⌈q·n⌉-th smallest value', () => {
    const ten = upTo(10);
    expect(percentile(ten, 0.5)).toBe(5);
    expect(percentile(ten, 0.9)).toBe(9);
    expect(percentile(ten, 0.91)).toBe(10);
    expect(percentile(ten, 0.99)).toBe(10);
    expect(percentile(upTo(100), 0.99)).toBe(99);
    expect(percentile(upTo(1000), 0.99)).toBe(990);
    expect(percentile([10, 20, 30, 40], 0.5)).toBe(20);
    expect(percentile([10, 20, 30, 40], 0.51)).toBe(30);
  });

  it('stays inside the samples at q = 0 and q = 1, and is 0 for no samples', () => {
    expect(percentile([3, 7, 9], 0)).toBe(3);
    expect(percentile([3, 7, 9], 1)).toBe(9);
    expect(percentile([42], 0.5)).toBe(42);
    expect(percentile([], 0.5)).toBe(0);
  });

  it('reads a Float64Array the same way', () => {
    expect(percentile(Float64Array.from(upTo(10)), 0.9)).toBe(9);
  });
});

describe('latencyStats', () => {
  it('sorts the samples numerically and rounds to hundredths', () => {
    // 100 samples 1..100 in reverse, one of them 10.005 (a string sort would put 100 before 11).
    const samples = upTo(100).reverse().map((v) => (v === 10 ? 10.005 : v));
    expect(latencyStats(samples, 2)).toEqual({ count: 100, errors: 2, p50: 50, p90: 90, p99: 99, max: 100, mean: 50.5 });
  });

  it('reports zeros for no samples', () => {
    expect(latencyStats([], 0)).toEqual({ count: 0, errors: 0, p50: 0, p90: 0, p99: 0, max: 0, mean: 0 });
  });
});

describe('summarize (bench)', () => {
  it('gives the nearest-rank median and p99, min and max, whatever the order of the samples', () => {
    expect(summarize([5, 1, 4, 2, 3])).toEqual({ n: 5, median: 3, p99: 5, min: 1, max: 5 });
    expect(summarize(upTo(200).reverse())).toEqual({ n: 200, median: 100, p99: 198, min: 1, max: 200 });
    // An even count: the lower middle value, not the mean of the two.
    expect(summarize([1, 2, 3, 4])).toMatchObject({ median: 2 });
  });

  it('keeps four decimals (tenths of a microsecond are noise)', () => {
    expect(summarize([0.123456, 2.000049])).toEqual({ n: 2, median: 0.1235, p99: 2, min: 0.1235, max: 2 });
  });

  it('is NaN throughout for no samples rather than a made-up number', () => {
    expect(summarize([])).toEqual({ n: 0, median: Number.NaN, p99: Number.NaN, min: Number.NaN, max: Number.NaN });
  });

  it('gives ratios to two decimals', () => {
    expect(ratio(3, 2)).toBe(1.5);
    expect(ratio(1, 3)).toBe(0.33);
  });
});
