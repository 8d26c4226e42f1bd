import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // .local/ holds what `npm start` and local experiments write (git-ignored too).
  { ignores: ['node_modules/**', 'cdk.out/**', 'bench/results.json', 'coverage/**', 'dist/**', '.local/**'] },
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
  },
  {
    // The domain never imports AWS: keep the pure KCO modules free of SDK and middy.
    files: ['functions/kco/money.ts', 'functions/kco/rules.ts', 'functions/kco/cart.ts', 'functions/kco/checks.ts', 'functions/kco/order.ts', 'functions/kco/answer.ts', 'functions/osm/render.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['@aws-sdk/*', '@middy/*', 'aws-cdk-lib', 'aws-cdk-lib/*'] }],
    },
  },
  {
    // The order lifecycle's pure modules: no AWS, no middy, no adapters.
    files: ['functions/orders/lifecycle.ts', 'functions/orders/order.ts', 'functions/orders/events.ts', 'functions/orders/order-check.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['@aws-sdk/*', '@middy/*', 'aws-cdk-lib', 'aws-cdk-lib/*', '**/shared/*'] }],
    },
  },
);
