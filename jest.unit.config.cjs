// The unit tier alone, as one flat config: what `npm run mutate` runs against each mutant
// (Stryker's Jest runner applies its per-test coverage to a flat config, not to `projects`).
const { projects } = require('./jest.config.cjs');

const unit = projects.find((project) => project.displayName === 'unit');

module.exports = {
  ...unit,
  setupFiles: [...unit.setupFiles, '<rootDir>/test/support/mutate-setup.ts'],
  // The linear-time check reads the source files, which in Stryker's sandbox hold every mutant at
  // once (anchors removed among them): it judges the instrumented text, not any one mutant.
  testPathIgnorePatterns: [...(unit.testPathIgnorePatterns ?? []), '/test/unit/redos\\.test\\.ts$'],
};
