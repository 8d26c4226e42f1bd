// @ts-check
/**
 * `npm run mutate`: StrykerJS over the pure modules, with only the unit tests run against each
 * mutant (per-test coverage: a mutant runs just the tests that reach it). The HTML report goes to
 * reports/mutation/ (git-ignored). Not part of `npm test`: it takes minutes, like the bench.
 * StrykerJS itself is the tool package test/mutation/ (own lock), which `npm run mutate` installs
 * on Node 24 first: it wants Node >= 22.18, above the bootstrap Nodes the root's `npm ci` runs on.
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
export default {
  mutate: [
    // Top level only: the Lambda handlers and their middy wrapper (functions/kco/handlers/) are
    // tested by the integration tier.
    'functions/kco/*.ts',
    // zod/mini's fast path: its mutants are killed only by the long property runs against zod
    // itself (test/unit/fast-parse.test.ts, ~2 600 cases), several seconds per mutant.
    '!functions/kco/fast-parse.ts',
    // Data written by `npm run generate`, checked against the schemas by the fast path's tests.
    '!functions/kco/schemas.generated.ts',
    'functions/osm/render.ts',
    'functions/osm/cache-policy.ts',
    // The order lifecycle's pure parts: the state machine and the check before acknowledging.
    'functions/orders/lifecycle.ts',
    'functions/orders/order-check.ts',
    // The money after the purchase. Its property tests run a fraction of their cases under
    // mutation (test/support/mutate-setup.ts), else every one of its mutants takes ~18 s.
    'functions/orders/ledger.ts',
  ],
  testRunner: 'jest',
  jest: { projectType: 'custom', configFile: 'jest.unit.config.cjs', enableFindRelatedTests: true },
  coverageAnalysis: 'perTest',
  // Mutants that do not type-check are dropped before any test runs. tsconfig.mutate.json holds
  // only the files in `mutate` (and what they import): keep its "include" the same list.
  checkers: ['typescript'],
  tsconfigFile: 'tsconfig.mutate.json',
  typescriptChecker: { prioritizePerformanceOverAccuracy: true },
  // Two processes (type-checking first, then Jest) on the 2 cores.
  concurrency: 2,
  // A mutant that loops for ever is cut off after this (plus 1.5× the tests' own time): such a
  // mutant counts as detected, so the bound only has to be well above what the tests need.
  timeoutMS: 5_000,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true },
  // Later runs test again only the mutants whose code or covering tests changed, against the
  // results of the last full run, which are committed: a full run takes ~55 minutes on 2 cores
  // (about half of it type-checking mutants), a run after a change a few. `--force` runs all.
  incremental: true,
  incrementalFile: 'test/mutation/stryker-incremental.json',
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
  ignoreStatic: true,
  thresholds: { high: 90, low: 80, break: null },
};
