// Jest runs our TypeScript (and middy's ESM-only .js) through swc into CommonJS; types are
// checked separately by `tsc --noEmit` so tests stay fast.
const swc = ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } }];

const common = {
  transform: { '^.+\\.(t|j|mj)s$': swc },
  transformIgnorePatterns: ['/node_modules/(?!(@middy|@aws-lambda-powertools)/)'],
  // Sources import with `.js` (ESM style); resolve those to the TypeScript files.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  moduleFileExtensions: ['ts', 'js', 'mjs', 'cjs', 'json'],
  testEnvironment: 'node',
  setupFiles: ['<rootDir>/test/support/setup.ts'],
  // `npm run mutate` copies the project into .stryker-tmp/: not a second copy of our modules.
  modulePathIgnorePatterns: ['<rootDir>/.stryker-tmp/'],
};

module.exports = {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    { ...common, displayName: 'integration', testMatch: ['<rootDir>/test/integration/**/*.test.ts'] },
    { ...common, displayName: 'infra', testMatch: ['<rootDir>/test/infra/**/*.test.ts'] },
    // The docs checked against the code: what it reads, emits and links to must be documented.
    { ...common, displayName: 'docs', testMatch: ['<rootDir>/test/docs/**/*.test.ts'] },
    {
      ...common,
      displayName: 'browser',
      testMatch: ['<rootDir>/test/browser/**/*.test.ts'],
      // puppeteer-core is ESM-only too.
      transformIgnorePatterns: ['/node_modules/(?!(@middy|@aws-lambda-powertools|puppeteer-core|@puppeteer|chromium-bidi|webdriver-bidi-protocol|typed-query-selector)/)'],
    },
  ],
};
