// Only under `npm run mutate`: a property that fails against a mutant has done its job, so stop at
// the first counterexample instead of shrinking it (shrinking can outlast Stryker's timeout and
// turn a killed mutant into a slow "timed out" one that restarts the test runner).
import fc from 'fast-check';

fc.configureGlobal({ ...fc.readConfigureGlobal(), endOnFailure: true });
