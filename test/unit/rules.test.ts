import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  defaultScope,
  isRulesScope,
  mergeRules,
  rulesSchemas,
  orderScope,
  orderScopeRefusal,
  parseRulesDocument,
  rulesJsonSchema,
  type MerchantRules,
} from '../../functions/kco/rules.js';

const storeVatDocument = {
  shipping_countries: ['SE', 'DE'],
  billing_countries: ['SE', 'DE', 'NO'],
  blocked_postal_code_prefixes: { SE: ['981', '982'] },
  block_po_boxes: true,
  shipping_options: [
    { id: 'standard', name: 'Standard', description: '2-4 days', price: 4900, tax_rate: 2500, free_over: 50000, shipping_method: 'Home', preselected: true },
    { id: 'pickup', name: 'Pickup point', price: 2900, tax_rate: 2500, countries: ['SE'], shipping_method: 'PickUpPoint' },
  ],
  tax: { mode: 'vat', rates: { SE: 2500, DE: 1900 }, reference_rates: { 'BOOK-1': { SE: 600, DE: 700 } } },
  purchase_currency: 'SEK',
  min_order_amount: 100,
  max_order_amount: 10_000_000,
  max_quantity_per_line: 50,
  denied_references: ['RECALLED-1'],
  allowed_customer_types: ['person', 'organization'],
  deny_redirect_url: 'https://shop.example/checkout/denied',
  error_texts: { po_box: 'We cannot deliver to a PO box.' },
};

const storeSalesTaxDocument = {
  shipping_countries: ['US'],
  shipping_options: [{ id: 'ground', name: 'Ground', price: 599, tax_rate: 0, free_over: 7500 }],
  tax: { mode: 'sales_tax', rates: { 'US-CA': 725, 'US-NY': 400, US: 0 }, tax_shipping: true },
};

const orderDocument = { expected_order_amount: 44800, denied_references: [] };

const orderCartDocument = {
  expected_order_lines: [
    { reference: 'SHIRT-M', quantity: 2, unit_price: 24900, total_amount: 49800 },
    { reference: 'WELCOME-500', quantity: 1, unit_price: -5000, total_amount: -5000 },
  ],
};

const COUNTRY = 'an ISO 3166 alpha-2 code in capitals, like "SE"';
const CURRENCY = 'an ISO 4217 code in capitals, like "SEK"';
const NO_QUERY = 'an https URL without query or fragment';
const CANONICAL =
  'an https URL as the URL parser writes it: ASCII host (an IDN as punycode), a path (at least "/"), no user info, no backslash or raw non-ASCII character';

const exampleDir = join(__dirname, '../../bin/local');
// No try/catch: a folder that cannot be read fails this file instead of testing nothing.
const exampleFiles = readdirSync(exampleDir).filter((name) => /^example-.*\.json$/.test(name));

describe('the rules schema / parseRulesDocument', () => {
  it('finds the example rules documents the README and `npm start` use', () => {
    expect(exampleFiles).toEqual(expect.arrayContaining(['example-rules.json', 'example-order-rules.json', 'example-us-rules.json']));
  });

  it.each([
    ['a store-wide VAT document', storeVatDocument],
    ['a store-wide US sales-tax document', storeSalesTaxDocument],
    ['a per-order document', orderDocument],
    ['a per-order cart with a negative discount line', orderCartDocument],
    ['an empty document', {}],
    ...exampleFiles.map((name): [string, unknown] => [`bin/local/${name}`, JSON.parse(readFileSync(join(exampleDir, name), 'utf8'))]),
  ])('accepts %s', (_name, document) => {
    const parsed = parseRulesDocument(defaultScope, document);
    expect(parsed).toEqual({ ok: true, rules: document });
  });

  it('keeps every field of a valid document unchanged', () => {
    expect(rulesSchemas().merchantRules.parse(storeVatDocument)).toEqual(storeVatDocument);
  });

  it('rejects an unknown top-level field, naming the scope and the field', () => {
    expect(parseRulesDocument('order#abc', { ...storeVatDocument, shiping_countries: ['SE'] })).toEqual({
      ok: false,
      issues: [{ scope: 'order#abc', path: '(document)', message: 'unknown field(s): shiping_countries' }],
    });
  });

  it('rejects an unknown field inside a shipping option at its path', () => {
    const doc = { shipping_options: [{ id: 'a', name: 'A', price: 100, tax_rate: 2500, colour: 'red' }] };
    expect(parseRulesDocument(defaultScope, doc)).toEqual({
      ok: false,
      issues: [{ scope: 'default', path: 'shipping_options[0]', message: 'unknown field(s): colour' }],
    });
  });

  it.each<[string, unknown, string, string]>([
    ['a negative shipping price', { shipping_options: [{ id: 'a', name: 'A', price: -1, tax_rate: 2500 }] }, 'shipping_options[0].price', 'must be at least 0'],
    [
      'a fractional price in the second option',
      { shipping_options: [{ id: 'a', name: 'A', price: 1, tax_rate: 0 }, { id: 'b', name: 'B', price: 1.5, tax_rate: 0 }] },
      'shipping_options[1].price',
      'expected int',
    ],
    ['a tax rate above 100%', { tax: { mode: 'vat', rates: { SE: 10001 } } }, 'tax.rates.SE', 'must be at most 10000'],
    ['a lower-case country', { shipping_countries: ['SE', 'se'] }, 'shipping_countries[1]', COUNTRY],
    ['a three-letter country', { shipping_countries: ['SWE'] }, 'shipping_countries[0]', COUNTRY],
    ['an unknown tax mode', { tax: { mode: 'gst', rates: {} } }, 'tax.mode', 'does not match any allowed form'],
    ['an http redirect', { deny_redirect_url: 'http://shop.example/denied' }, 'deny_redirect_url', NO_QUERY],
    ['a redirect with a query', { deny_redirect_url: 'https://shop.example/denied?x=1' }, 'deny_redirect_url', NO_QUERY],
    ['a redirect with a leading space', { deny_redirect_url: ' https://shop.example/denied' }, 'deny_redirect_url', NO_QUERY],
    ['a redirect with a password but no user name', { deny_redirect_url: 'https://:secret@shop.example/denied' }, 'deny_redirect_url', CANONICAL],
    ['a redirect the URL parser refuses (port out of range)', { deny_redirect_url: 'https://shop.example:99999/denied' }, 'deny_redirect_url', CANONICAL],
    ['an unknown error text reason', { error_texts: { nope: 'x' } }, 'error_texts', 'unknown field(s): nope'],
    ['two unknown error text reasons', { error_texts: { nope: 'x', nah: 'y' } }, 'error_texts', 'unknown field(s): nope, nah'],
    ['an unknown customer type', { allowed_customer_types: ['company'] }, 'allowed_customer_types[0]', 'expected one of "person", "organization"'],
    ['a zero quantity limit', { max_quantity_per_line: 0 }, 'max_quantity_per_line', 'must be at least 1'],
    ['a string amount', { min_order_amount: '100' }, 'min_order_amount', 'expected number'],
    ['a lower-case currency', { purchase_currency: 'sek' }, 'purchase_currency', CURRENCY],
    ['a four-letter currency', { purchase_currency: 'EURO' }, 'purchase_currency', CURRENCY],
    ['an unknown shipping method', { shipping_options: [{ id: 'a', name: 'A', price: 1, tax_rate: 0, shipping_method: 'Drone' }] }, 'shipping_options[0].shipping_method', 'expected one of "PickUpStore", "Home", "BoxReg", "BoxUnreg", "PickUpPoint", "Own", "Postal", "DHLPackstation", "Digital"'],
    [
      'an expected line below Klarna’s amount range',
      { expected_order_lines: [{ reference: 'A', quantity: 1, unit_price: -100_000_001, total_amount: -100_000_000 }] },
      'expected_order_lines[0].unit_price',
      'must be at least -100000000',
    ],
    ['a blocked prefix that is empty', { blocked_postal_code_prefixes: { SE: [''] } }, 'blocked_postal_code_prefixes.SE[0]', 'must be at least 1'],
  ])('rejects %s with an issue at its path', (_name, document, path, message) => {
    expect(parseRulesDocument('order#o-1', document)).toEqual({ ok: false, issues: [{ scope: 'order#o-1', path, message }] });
  });

  it.each([
    ['a lower-case VAT country', { mode: 'vat', rates: { se: 2500 } }, 'tax.rates.se'],
    ['a three-letter sales-tax key', { mode: 'sales_tax', rates: { USA: 725 } }, 'tax.rates.USA'],
    ['a sales-tax region of four characters', { mode: 'sales_tax', rates: { 'US-CALI': 725 } }, 'tax.rates.US-CALI'],
  ])('names the path of a bad rate key: %s (the message is zod’s code)', (_name, tax, path) => {
    const parsed = parseRulesDocument(defaultScope, { tax });
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.issues.map((i) => [i.scope, i.path])).toEqual([['default', path]]);
  });

  it('reports every issue of a document, not only the first', () => {
    const parsed = parseRulesDocument(defaultScope, {
      shipping_options: [{ id: 'a', name: 'A', price: -1, tax_rate: 20000 }],
      min_order_amount: -5,
    });
    expect(!parsed.ok && parsed.issues.map((i) => i.path).sort()).toEqual(['min_order_amount', 'shipping_options[0].price', 'shipping_options[0].tax_rate']);
  });

  it.each([null, 'rules', 42, []])('rejects %j as a document, at (document)', (document) => {
    expect(parseRulesDocument(defaultScope, document)).toEqual({
      ok: false,
      issues: [{ scope: 'default', path: '(document)', message: 'expected object' }],
    });
  });
});

describe('scopes', () => {
  it('names the store-wide scope default and a per-order scope order#<id>', () => {
    expect(defaultScope).toBe('default');
    expect(orderScope('abc-123')).toBe('order#abc-123');
  });

  it('accepts only those two as scopes: default, and order# with an id of 1 to 255 characters on one line', () => {
    expect(isRulesScope('default')).toBe(true);
    expect(isRulesScope(orderScope('abc-123'))).toBe(true);
    expect(isRulesScope(orderScope('x'.repeat(255)))).toBe(true);
    expect(isRulesScope(orderScope(''))).toBe(false);
    expect(isRulesScope(orderScope('x'.repeat(256)))).toBe(false);
    // Anchored at both ends: a key that merely contains an order scope is not one.
    expect(isRulesScope(`shop-${orderScope('abc-123')}`)).toBe(false);
    expect(isRulesScope(`${orderScope('abc-123')}\nextra`)).toBe(false);
    expect(isRulesScope('Default')).toBe(false);
    expect(isRulesScope('store')).toBe(false);
  });
});

describe('orderScopeRefusal', () => {
  it.each<[string, MerchantRules, boolean, 'order_unknown' | undefined]>([
    ['refuses an order without its scope when the store requires one', { require_order_scope: true }, false, 'order_unknown'],
    ['lets an order with its scope go on when the store requires one', { require_order_scope: true }, true, undefined],
    ['lets an order without its scope go on when the store does not require one', { require_order_scope: false }, false, undefined],
    ['lets an order without its scope go on when the store says nothing', {}, false, undefined],
  ])('%s', (_name, rules, orderScopeFound, expected) => {
    expect(orderScopeRefusal(rules, orderScopeFound)).toBe(expected);
  });
});

describe('rulesJsonSchema', () => {
  it('describes a rules document with every field, no others, and the parser’s own patterns', () => {
    const schema = rulesJsonSchema() as { type: string; additionalProperties: boolean; properties: Record<string, unknown> };
    expect(schema.type).toBe('object');
    expect(schema.additionalProperties).toBe(false);
    expect(Object.keys(schema.properties)).toEqual(Object.keys(rulesSchemas().merchantRules.def.shape));
    expect(schema.properties.shipping_countries).toEqual({ type: 'array', items: { type: 'string', pattern: '^[A-Z]{2}$' } });
    expect(schema.properties.purchase_currency).toEqual({ type: 'string', pattern: '^[A-Z]{3}$' });
  });
});

describe('mergeRules', () => {
  const store: MerchantRules = {
    shipping_countries: ['SE', 'DE'],
    block_po_boxes: true,
    shipping_options: [{ id: 'standard', name: 'Standard', price: 4900, tax_rate: 2500 }],
    tax: { mode: 'vat', rates: { SE: 2500, DE: 1900 } },
    min_order_amount: 100,
    denied_references: ['A'],
    error_texts: { po_box: 'store text', postal_code_blocked: 'store postal text' },
  };

  it('takes each field from the order scope when set there, else from the store', () => {
    const order: MerchantRules = { shipping_countries: ['SE'], expected_order_amount: 44800, block_po_boxes: false };
    expect(mergeRules(store, order)).toEqual({ ...store, shipping_countries: ['SE'], expected_order_amount: 44800, block_po_boxes: false });
  });

  it('replaces a whole field rather than merging inside it (lists, tax, error texts)', () => {
    const order: MerchantRules = {
      shipping_options: [{ id: 'express', name: 'Express', price: 9900, tax_rate: 2500 }],
      tax: { mode: 'vat', rates: { SE: 1200 } },
      denied_references: [],
      error_texts: { po_box: 'order text' },
    };
    const merged = mergeRules(store, order);
    expect(merged.shipping_options).toEqual([{ id: 'express', name: 'Express', price: 9900, tax_rate: 2500 }]);
    expect(merged.tax).toEqual({ mode: 'vat', rates: { SE: 1200 } });
    expect(merged.denied_references).toEqual([]);
    expect(merged.error_texts).toEqual({ po_box: 'order text' });
    expect(merged.min_order_amount).toBe(100);
  });

  it('lets an order value of 0 or false win (only absent fields fall back)', () => {
    const merged = mergeRules(store, { min_order_amount: 0, block_po_boxes: false });
    expect(merged.min_order_amount).toBe(0);
    expect(merged.block_po_boxes).toBe(false);
  });

  it('ignores a field the order scope holds as undefined', () => {
    expect(mergeRules(store, { min_order_amount: undefined }).min_order_amount).toBe(100);
  });

  it('works with either scope missing', () => {
    expect(mergeRules(store, undefined)).toEqual(store);
    expect(mergeRules(undefined, { expected_order_amount: 5 })).toEqual({ expected_order_amount: 5 });
    expect(mergeRules(undefined, undefined)).toEqual({});
  });

  it('does not modify either input', () => {
    const before = JSON.stringify(store);
    const order: MerchantRules = { shipping_countries: ['DE'] };
    mergeRules(store, order);
    expect(JSON.stringify(store)).toBe(before);
    expect(order).toEqual({ shipping_countries: ['DE'] });
  });
});
