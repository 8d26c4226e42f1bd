// Only under `npm run mutate`: a property that fails against a mutant has done its job, so stop at
// the first counterexample instead of shrinking it (shrinking can outlast Stryker's timeout and
// turn a killed mutant into a slow "timed out" one that restarts the test runner).
import fc from 'fast-check';
import { divideSlowTestsBy } from './property-runs.js';

fc.configureGlobal({ ...fc.readConfigureGlobal(), endOnFailure: true });

// The slow property tests (the ledger's: ~18 s at full count) run an eighth of their cases, and
// their exhaustive loops every eighth case: every mutant of a module runs the tests that reach it.
divideSlowTestsBy(8);
