// The unit tier alone, as one flat config: what `npm run mutate` runs against each mutant
// (Stryker's Jest runner applies its per-test coverage to a flat config, not to `projects`).
const { projects } = require('./jest.config.cjs');

const unit = projects.find((project) => project.displayName === 'unit');

module.exports = {
  ...unit,
  setupFiles: [...unit.setupFiles, '<rootDir>/test/support/mutate-setup.ts'],
  testPathIgnorePatterns: [
    ...(unit.testPathIgnorePatterns ?? []),
    // The linear-time check reads the source files, which in Stryker's sandbox hold every mutant at
    // once (anchors removed among them): it judges the instrumented text, not any one mutant.
    '/test/unit/redos\\.test\\.ts$',
    // These adapter tests load modules afresh inside a test (jest.isolateModules), which runs the
    // mutated modules' top-level code (the zod schemas, the constants) again within that test:
    // per-test coverage would then credit every such mutant to those few tests alone, and judge it
    // by tests that never look at it. Without them those mutants are static, and skipped.
    '/test/unit/rules-store\\.test\\.ts$',
    '/test/unit/metrics\\.test\\.ts$',
  ],
};
