/**
 * How many cases a slow property test runs. `npm test` runs exactly the count written in the test;
 * under `npm run mutate` (test/support/mutate-setup.ts) every ledger mutant runs these tests, so
 * they run a fraction of it: a mutant that a property catches at all is caught in the first few
 * dozen cases, and the whole count still runs in `npm test` against the real code.
 */
let divisor = 1;

/** Set only by test/support/mutate-setup.ts. */
export const divideSlowTestsBy = (factor: number): void => {
  divisor = factor;
};

/** `numRuns` for a property: the test's own count, divided under mutation (at least 1). */
export const runs = (count: number): number => Math.max(1, Math.ceil(count / divisor));

/** Every `stride()`-th case of an exhaustive loop: 1 (all of them) except under mutation. */
export const stride = (): number => divisor;
