/**
 * The fast paths taken for speed must change nothing: `safeParse` answers exactly what zod's own
 * `safeParse` answers (same success, same value with the same key order, same issues), the
 * generated descriptions are those of today's zod schemas, and the JSON body parser gives exactly
 * what `JSON.parse` with `safeJsonReviver` gives.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import * as z from 'zod/mini';
import { describeSchema, hasFastPath, safeParse, type FastParser } from '../../functions/kco/fast-parse.js';
import { callbackRequestParser, orderLineParser, orderLineTypes, validationOrderParser } from '../../functions/kco/order.js';
import { merchantRulesParser, reasonCodes } from '../../functions/kco/rules.js';
import * as generated from '../../functions/kco/schemas.generated.js';
import { GENERATED_SCHEMAS_FILE, renderSchemaExports, schemaDescriptors } from '../../bin/local/schema-descriptors.js';
import { mayHoldUnsafeKey, safeJsonBodyParser, safeJsonReviver } from '../../functions/shared/http.js';
import type { APIGatewayProxyEvent } from 'aws-lambda';

const text = (length: number): string => 'x'.repeat(length);

/** Values at and around every limit in order.ts, plus values of the wrong type. */
const edgeNumbers = [0, -0, 1, -1, 0.5, 100, 10000, 10001, 1e8, 1e8 + 1, -1e8, -1e8 - 1, 2 ** 53 - 1, 2 ** 53, -(2 ** 53), 1e300];
const edgeStrings = [0, 1, 2, 3, 4, 8, 9, 100, 101, 255, 256, 1000, 1001, 1024, 1025, 6000, 6001].map(text);
const wrongTypes = [null, true, [], {}, 'SE', 'SEK', 'se', 'S1', 'physical', 'Physical', 'person'];

const anyValue = fc.oneof(
  fc.constantFrom<unknown>(...edgeNumbers, ...edgeStrings, ...wrongTypes),
  fc.integer({ min: -200_000_000, max: 200_000_000 }),
  fc.string({ maxLength: 12 }),
);
/** Mostly valid, sometimes anything: many generated orders still reach the end of the fast path. */
const mostly = <T>(valid: fc.Arbitrary<T>, weight = 12): fc.Arbitrary<unknown> =>
  fc.oneof({ weight, arbitrary: valid }, { weight: 1, arbitrary: anyValue });

const amount = fc.integer({ min: -100_000_000, max: 100_000_000 });
const extraKeys = fc.dictionary(
  fc.constantFrom('product_identifiers', 'subscription', 'shipping_attributes', 'image_url2', '0', '10', 'constructor', 'prototype', 'x'),
  fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constant({ brand: 'Intel', size: 'M' })),
  { maxKeys: 3 },
);

const lineWith = (weight: number) => fc
  .tuple(
    fc.record(
      {
        type: mostly(fc.constantFrom(...orderLineTypes), weight),
        reference: mostly(fc.string({ maxLength: 255 }), weight),
        name: mostly(fc.string({ minLength: 1, maxLength: 255 }), weight),
        quantity: mostly(fc.integer({ min: 0, max: 100_000_000 }), weight),
        quantity_unit: mostly(fc.string({ maxLength: 8 }), weight),
        unit_price: mostly(amount, weight),
        tax_rate: mostly(fc.integer({ min: 0, max: 10000 }), weight),
        total_amount: mostly(amount, weight),
        total_discount_amount: mostly(fc.integer({ min: 0, max: 100_000_000 }), weight),
        total_tax_amount: mostly(amount, weight),
        merchant_data: mostly(fc.string({ maxLength: 1024 }), weight),
      },
      { requiredKeys: ['name', 'quantity', 'unit_price', 'tax_rate', 'total_amount', 'total_tax_amount'] },
    ),
    extraKeys,
    fc.boolean(),
  )
  // Extra keys before or after the known ones: zod puts the known ones first either way.
  .map(([known, extra, extraFirst]) => (extraFirst ? { ...extra, ...known } : { ...known, ...extra }));
const line = lineWith(12);

const address = fc.record(
  {
    street_address: mostly(fc.string({ maxLength: 40 })),
    postal_code: mostly(fc.string({ maxLength: 100 })),
    city: mostly(fc.string({ maxLength: 40 })),
    country: mostly(fc.constantFrom('SE', 'de', 'US', 'S', 'SWE')),
    given_name: fc.string({ maxLength: 10 }),
  },
  { requiredKeys: [] },
);

const order = fc.record(
  {
    order_amount: mostly(fc.integer({ min: 0, max: 1e12 })),
    order_tax_amount: mostly(fc.integer({ min: 0, max: 1e12 })),
    order_lines: fc.oneof(fc.array(lineWith(200), { maxLength: 6 }), mostly(fc.array(line, { maxLength: 6 }))),
    purchase_currency: fc.oneof({ weight: 6, arbitrary: fc.constantFrom('SEK', 'eur', 'USD') }, mostly(fc.constantFrom('SE', 'SEKK'))),
    billing_address: mostly(address),
    shipping_address: mostly(address),
    selected_shipping_option: mostly(fc.record({ id: mostly(fc.string({ minLength: 1, maxLength: 20 })), price: mostly(amount), promo: fc.string() }, { requiredKeys: ['id'] })),
    merchant_data: mostly(fc.string({ maxLength: 30 })),
    customer: mostly(fc.record({ type: mostly(fc.constantFrom('person', 'organization')) }, { requiredKeys: [] })),
    tags: mostly(fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 })),
    order_id: mostly(fc.string({ maxLength: 20 })),
    purchase_country: mostly(fc.constantFrom('SE', 'us', 'SWE')),
    unknown_top_level: fc.jsonValue({ maxDepth: 1 }),
  },
  { requiredKeys: ['order_amount', 'order_tax_amount', 'order_lines', 'purchase_currency'] },
);

/** An own `__proto__` key first in every object, as JSON.parse makes of `{"__proto__": …}`. */
const withOwnProtoKeys = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(withOwnProtoKeys);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  Object.defineProperty(out, '__proto__', { value: { polluted: true }, enumerable: true, writable: true, configurable: true });
  for (const [key, inner] of Object.entries(value)) out[key] = withOwnProtoKeys(inner);
  return out;
};

/** Through JSON, as the handlers receive it; optionally with an own `__proto__` key in every object. */
const asJson = (value: unknown, withProtoKey: boolean): unknown => {
  const parsed: unknown = JSON.parse(JSON.stringify(value));
  return withProtoKey ? withOwnProtoKeys(parsed) : parsed;
};

/** Every object in the value is a plain object with Object.prototype (toEqual does not look). */
const plainPrototypes = (value: unknown): boolean => {
  if (Array.isArray(value)) return value.every(plainPrototypes);
  if (typeof value !== 'object' || value === null) return true;
  return Object.getPrototypeOf(value) === Object.prototype && Object.values(value).every(plainPrototypes);
};

const expectSameAsZod = <T>(parser: FastParser<T>, input: unknown): boolean => {
  const expected = parser.schema().safeParse(input);
  const actual = safeParse(parser, input);
  expect(actual.success).toBe(expected.success);
  if (expected.success && actual.success) {
    expect(JSON.stringify(actual.data)).toBe(JSON.stringify(expected.data));
    expect(actual.data).toEqual(expected.data);
    expect(plainPrototypes(actual.data)).toBe(plainPrototypes(expected.data));
  } else {
    expect(actual.error?.issues).toEqual(expected.error?.issues);
  }
  return expected.success;
};

/** A parser of a zod schema described now (the generated file covers only our own schemas). */
const parserOf = <T>(schema: z.ZodMiniType<T>, refinements = {}): FastParser<T> => ({ descriptor: describeSchema(schema, refinements) ?? null, schema: () => schema, refinements });

describe('the generated descriptions', () => {
  it('are those of the zod schemas as they are now (run `npm run generate` after changing a schema)', () => {
    // The data, and the exports' text: a copy of the tree (Stryker's sandbox) may prepend a line to the file.
    expect({ ...generated }).toEqual(schemaDescriptors());
    expect(readFileSync(GENERATED_SCHEMAS_FILE, 'utf8')).toContain(renderSchemaExports());
  });

  it('give the callbacks and the rules a fast path (without one they are only slower, and build zod on a cold start)', () => {
    for (const parser of [callbackRequestParser, validationOrderParser, orderLineParser, merchantRulesParser]) {
      expect(parser.descriptor).not.toBeNull();
      expect(hasFastPath(parser as FastParser<unknown>)).toBe(true);
    }
  });

  it('leave constructs the fast path does not know entirely to zod', () => {
    expect(describeSchema(z.object({ a: z.nullable(z.string()) }))).toBeUndefined();
    expect(describeSchema(z.object({ a: z.optional(z.string()).check(z.refine((v) => v !== 'x')) }))).toBeUndefined();
    expect(describeSchema(z.object({ a: z.email() }))).toBeUndefined();
    expect(describeSchema(z.object({ a: z.string().check(z.trim()) }))).toBeUndefined();
    expect(describeSchema(z.record(z.enum(['a', 'b']), z.string()))).toBeUndefined();
    expect(describeSchema(z.union([z.string(), z.int()]))).toBeUndefined();
    expect(describeSchema(z.object({ a: z._default(z.optional(z.string()), 'x') }))).toBeUndefined();
    expect(describeSchema(z.object({ a: z.optional(z.string()) }))).toEqual({
      type: 'object',
      unknownKeys: 'strip',
      fields: [{ key: 'a', optional: true, schema: { type: 'string', checks: [] } }],
    });
  });

  it('name a refinement only when it is one the parser knows, and the parser needs it at run time', () => {
    const isEven = (n: number): boolean => n % 2 === 0;
    const schema = z.object({ n: z.int().check(z.refine(isEven)) });
    expect(describeSchema(schema)).toBeUndefined();
    const described = describeSchema(schema, { even: isEven });
    expect(described).toEqual({ type: 'object', unknownKeys: 'strip', fields: [{ key: 'n', optional: false, schema: { type: 'integer', checks: [{ check: 'refine', name: 'even' }] } }] });
    // A description naming a refinement the parser was not given: no fast path, zod decides.
    const withoutIt: FastParser<unknown> = { descriptor: described ?? null, schema: () => schema };
    expect(hasFastPath(withoutIt)).toBe(false);
    expect(safeParse(withoutIt, { n: 3 }).success).toBe(false);
    const withIt = parserOf(schema, { even: isEven });
    expect(hasFastPath(withIt as FastParser<unknown>)).toBe(true);
    expect(safeParse(withIt, { n: 4 })).toEqual({ success: true, data: { n: 4 } });
    expect(expectSameAsZod(withIt, { n: 3 })).toBe(false);
  });
});

/** Rules documents: every field of the rules schema, at and around its limits, now and then wrong. */
const rarely = <T>(valid: fc.Arbitrary<T>): fc.Arbitrary<unknown> => mostly(valid, 150);
/** One of `valid`, now and then one of `wrong`. */
const nowAndThen = <T>(valid: readonly T[], wrong: readonly T[]): fc.Arbitrary<T> =>
  fc.oneof({ weight: 30, arbitrary: fc.constantFrom(...valid) }, { weight: 1, arbitrary: fc.constantFrom(...wrong) });
/** Now and then an unknown key, which a strict object refuses. */
const withStray = <T extends object>(valid: fc.Arbitrary<T>): fc.Arbitrary<unknown> =>
  fc.tuple(valid, fc.integer({ min: 0, max: 39 })).map(([value, dice]) => (dice === 0 ? { ...value, stray_field: 1 } : value));
const countryCode = fc.oneof({ weight: 150, arbitrary: fc.constantFrom('SE', 'DE', 'US', 'NO') }, { weight: 1, arbitrary: fc.constantFrom('se', 'SWE', 'S', '', '__proto__', 'constructor') });
const basisPoints = rarely(fc.integer({ min: 0, max: 10000 }));
const minorUnits = rarely(fc.integer({ min: 0, max: 100_000_000 }));
const shippingOptionRule = withStray(fc.record(
  {
    id: rarely(fc.string({ minLength: 1, maxLength: 20 })),
    name: rarely(fc.string({ minLength: 1, maxLength: 20 })),
    description: rarely(fc.string({ maxLength: 255 })),
    price: minorUnits,
    tax_rate: basisPoints,
    countries: rarely(fc.array(countryCode, { maxLength: 3 })),
    free_over: minorUnits,
    shipping_method: nowAndThen(['Home', 'PickUpPoint', 'DHLPackstation'], ['home']),
    preselected: rarely(fc.boolean()),
  },
  { requiredKeys: ['id', 'name', 'price', 'tax_rate'] },
));
const ratesBy = (key: fc.Arbitrary<string>) => rarely(fc.dictionary(key, basisPoints, { maxKeys: 3 }));
const vatTax = fc.record(
  {
    mode: rarely(fc.constant('vat')),
    rates: ratesBy(countryCode),
    reference_rates: rarely(
      fc.dictionary(fc.oneof({ weight: 20, arbitrary: fc.string({ minLength: 1, maxLength: 4 }) }, { weight: 1, arbitrary: fc.constantFrom('', '__proto__') }), ratesBy(countryCode), { maxKeys: 2 }),
    ),
  },
  { requiredKeys: ['mode', 'rates'] },
);
const salesTax = fc.record(
  {
    mode: nowAndThen(['sales_tax'], ['SALES_TAX']),
    rates: ratesBy(nowAndThen(['US', 'US-CA', 'US-NY1'], ['US-', 'us-ca', 'US-ABCD'])),
    tax_shipping: rarely(fc.boolean()),
  },
  { requiredKeys: ['mode', 'rates'] },
);
const tax = fc.oneof(
  { weight: 10, arbitrary: vatTax },
  { weight: 10, arbitrary: salesTax },
  // Wrong forms: no mode, or a sales-tax field in the VAT form.
  { weight: 1, arbitrary: fc.record({ rates: ratesBy(countryCode) }) },
  { weight: 1, arbitrary: fc.record({ mode: fc.constant('vat'), rates: ratesBy(countryCode), tax_shipping: fc.boolean() }) },
);
const httpsUrls = fc.oneof(
  { weight: 10, arbitrary: fc.constantFrom('https://shop.example/denied', 'https://shop.example/', 'https://xn--bcher-kva.example/sorry') },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      'https://shop.example',
      'http://shop.example/denied',
      'https://shop.example/a?b=1',
      'https://SHOP.example/x',
      'https://shop.example:443/x',
      'https://user@shop.example/x',
      'https://shop.example\\@evil.example/',
      'https://bücher.example/',
      'https://shop.example/a/../b',
    ),
  },
);
const rulesDocument = withStray(fc.record(
  {
    shipping_countries: rarely(fc.array(countryCode, { maxLength: 4 })),
    billing_countries: rarely(fc.array(countryCode, { maxLength: 4 })),
    blocked_postal_code_prefixes: rarely(fc.dictionary(countryCode, rarely(fc.array(fc.oneof({ weight: 20, arbitrary: fc.string({ minLength: 1, maxLength: 20 }) }, { weight: 1, arbitrary: fc.constantFrom('', 'x'.repeat(21)) }), { maxLength: 3 })), { maxKeys: 3 })),
    block_po_boxes: rarely(fc.boolean()),
    block_parcel_lockers: rarely(fc.boolean()),
    shipping_options: rarely(fc.array(shippingOptionRule, { maxLength: 3 })),
    tax: rarely(tax),
    purchase_currency: nowAndThen(['SEK', 'EUR'], ['sek', 'SE']),
    min_order_amount: minorUnits,
    max_order_amount: minorUnits,
    max_quantity_per_line: rarely(fc.integer({ min: 1, max: 5 })),
    denied_references: rarely(fc.array(fc.oneof({ weight: 20, arbitrary: fc.string({ minLength: 1, maxLength: 5 }) }, { weight: 1, arbitrary: fc.constant('') }), { maxLength: 3 })),
    allowed_customer_types: rarely(fc.array(nowAndThen(['person', 'organization'], ['company']), { maxLength: 2 })),
    expected_order_amount: minorUnits,
    expected_order_lines: rarely(
      fc.array(
        fc.record(
          { reference: rarely(fc.string({ minLength: 1, maxLength: 10 })), quantity: rarely(fc.integer({ min: 0, max: 10 })), total_amount: rarely(amount), unit_price: rarely(amount), total_discount_amount: minorUnits },
          { requiredKeys: ['reference', 'quantity', 'total_amount'] },
        ),
        { maxLength: 3 },
      ),
    ),
    require_order_scope: rarely(fc.boolean()),
    klarna_discounts: rarely(fc.boolean()),
    deny_redirect_url: rarely(httpsUrls),
    error_texts: rarely(fc.dictionary(fc.oneof({ weight: 20, arbitrary: fc.constantFrom(...reasonCodes) }, { weight: 1, arbitrary: fc.constantFrom('not_a_reason', '__proto__') }), rarely(fc.string({ minLength: 1, maxLength: 20 })), { maxKeys: 3 })),
  },
  { requiredKeys: [] },
));

describe('safeParse with the fast path', () => {

  it('answers exactly what zod answers for callback orders: success, value, key order and issues', () => {
    let accepted = 0;
    fc.assert(
      fc.property(order, fc.boolean(), (o, withProtoKey) => {
        const input = asJson(o, withProtoKey);
        if (expectSameAsZod(callbackRequestParser, input)) accepted += 1;
        expectSameAsZod(validationOrderParser, input);
      }),
      { numRuns: 600 },
    );
    // The property must have exercised the accepting path, not only zod's errors.
    expect(accepted).toBeGreaterThan(30);
  });

  it('answers exactly what zod answers for single lines, at and around every limit', () => {
    fc.assert(
      fc.property(line, fc.boolean(), (l, withProtoKey) => {
        expectSameAsZod(orderLineParser, asJson(l, withProtoKey));
      }),
      { numRuns: 1500 },
    );
  });

  it('answers exactly what zod answers for rules documents: strict objects, records, the tax union, the URL refinement', () => {
    let accepted = 0;
    fc.assert(
      fc.property(rulesDocument, fc.integer({ min: 0, max: 9 }), (document, dice) => {
        // Sometimes an own `__proto__` key in every object, as JSON.parse makes of one.
        const withProtoKey = dice === 0;
        if (expectSameAsZod(merchantRulesParser, asJson(document, withProtoKey))) accepted += 1;
      }),
      { numRuns: 1500 },
    );
    // About 40 % of the documents are valid, so the fast path's accepting side is exercised too.
    expect(accepted).toBeGreaterThan(300);
  });

  it('answers exactly what zod answers for values that are not objects at all', () => {
    for (const input of [undefined, null, 0, 'order', [], [{}], true]) expectSameAsZod(callbackRequestParser, input);
  });

  it('leaves an order of 1001 lines to zod, which refuses it', () => {
    const l = { name: 'T', quantity: 1, unit_price: 1, tax_rate: 0, total_amount: 1, total_tax_amount: 0 };
    const input = { order_amount: 1001, order_tax_amount: 0, purchase_currency: 'SEK', order_lines: Array.from({ length: 1001 }, () => l) };
    expect(expectSameAsZod(callbackRequestParser, input)).toBe(false);
    expect(expectSameAsZod(callbackRequestParser, { ...input, order_lines: input.order_lines.slice(1) })).toBe(true);
  });
});

describe('the JSON body parser', () => {
  const parse = async (body: string): Promise<unknown> => {
    const event = { body, headers: { 'content-type': 'application/json' }, isBase64Encoded: false } as unknown as APIGatewayProxyEvent;
    await safeJsonBodyParser().before?.({ event } as never);
    return event.body;
  };

  const unsafeKey = fc.constantFrom('__proto__', 'constructor', 'prototype', '\\u005f_proto__', '\\u0063onstructor', 'prot\\u006ftype', 'name', 'x\\u00e9');

  it('gives exactly JSON.parse with safeJsonReviver, whether or not the text names a dropped key', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 3 }), fc.array(fc.tuple(unsafeKey, fc.jsonValue({ maxDepth: 1 })), { maxLength: 3 }), async (value, extra) => {
        const base = JSON.stringify({ value });
        const body = extra.reduce((text, [key, inner]) => text.replace(/^\{/, () => `{"${key}":${JSON.stringify(inner)},`), base);
        const expected: unknown = JSON.parse(body, safeJsonReviver);
        const actual = await parse(body);
        expect(JSON.stringify(actual)).toBe(JSON.stringify(expected));
        expect(actual).toEqual(expected);
      }),
      { numRuns: 500 },
    );
  });

  it('takes the slow path only when the text could hold a dropped key', () => {
    expect(mayHoldUnsafeKey('{"order_lines":[{"name":"Red T-Shirt"}]}')).toBe(false);
    expect(mayHoldUnsafeKey('{"__proto__":{}}')).toBe(true);
    expect(mayHoldUnsafeKey('{"a":{"constructor":1}}')).toBe(true);
    expect(mayHoldUnsafeKey('{"prototype":1}')).toBe(true);
    expect(mayHoldUnsafeKey('{"\\u0063onstructor":1}')).toBe(true);
  });
});
