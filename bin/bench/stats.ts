/** Summaries of timing samples (milliseconds): nearest-rank percentiles, no interpolation. */

export type Summary = {
  readonly n: number;
  readonly median: number;
  readonly p99: number;
  readonly min: number;
  readonly max: number;
};

/** Nearest-rank percentile of ascending `sorted` (q in 0..1). */
const rank = (sorted: readonly number[], q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN;

/** Microseconds are the finest the figures mean anything at. */
const ms = (value: number): number => Number(value.toFixed(4));

export const summarize = (samples: readonly number[]): Summary => {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    n: sorted.length,
    median: ms(rank(sorted, 0.5)),
    p99: ms(rank(sorted, 0.99)),
    min: ms(sorted[0] ?? Number.NaN),
    max: ms(sorted[sorted.length - 1] ?? Number.NaN),
  };
};

export const ratio = (value: number, floor: number): number => Number((value / floor).toFixed(2));
