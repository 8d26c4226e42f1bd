import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // .local/ holds what `npm start` and local experiments write; reports/ and .stryker-tmp/ what
  // `npm run mutate` writes (git-ignored too).
  { ignores: ['node_modules/**', 'cdk.out/**', 'bench/results.json', 'coverage/**', 'dist/**', '.local/**', 'reports/**', '.stryker-tmp/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-properties': [
        'error',
        { object: 'describe', property: 'only', message: 'Focused tests hide the rest of the suite.' },
        { object: 'it', property: 'only', message: 'Focused tests hide the rest of the suite.' },
        { object: 'test', property: 'only', message: 'Focused tests hide the rest of the suite.' },
        { object: 'describe', property: 'skip', message: 'Skipped tests are tests that cannot fail.' },
        { object: 'it', property: 'skip', message: 'Skipped tests are tests that cannot fail.' },
        { object: 'test', property: 'skip', message: 'Skipped tests are tests that cannot fail.' },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'fdescribe', message: 'Focused tests hide the rest of the suite.' },
        { name: 'fit', message: 'Focused tests hide the rest of the suite.' },
        { name: 'xit', message: 'Skipped tests are tests that cannot fail.' },
        { name: 'xdescribe', message: 'Skipped tests are tests that cannot fail.' },
      ],
    },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly', __dirname: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // The domain never imports AWS, middy or the adapters: every module directly in functions/kco/
    // is pure (its handlers live in functions/kco/handlers/), and so is OSM rendering.
    files: ['functions/kco/*.ts', 'functions/osm/render.ts', 'functions/osm/cache-policy.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['@aws-sdk/*', '@middy/*', 'aws-cdk-lib', 'aws-cdk-lib/*', '@aws-lambda-powertools/*'], message: 'The domain is pure: no AWS, middy or Powertools.' },
            { group: ['../shared/*', '../../shared/*', './handlers/*', 'node:*'], message: 'The domain is pure: adapters and handlers import it, never the reverse.' },
          ],
        },
      ],
    },
  },
  {
    // The order lifecycle's and the rules history's pure modules: no AWS, no middy, no adapters.
    files: ['functions/rules/change.ts', 'functions/rules/diff.ts', 'functions/orders/lifecycle.ts', 'functions/orders/order.ts', 'functions/orders/events.ts', 'functions/orders/order-check.ts', 'functions/orders/process.ts', 'functions/orders/sweep.ts', 'functions/orders/ledger.ts', 'functions/orders/commands/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['@aws-sdk/*', '@middy/*', 'aws-cdk-lib', 'aws-cdk-lib/*', '**/shared/*'] }],
    },
  },
);
