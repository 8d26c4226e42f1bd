/**
 * Fuzzing every KCO handler as Lambda runs it (API Gateway event in, proxy result out) against
 * DynamoDB Local: whatever arrives, the answer is a well-formed 200/303/400/401, never a 500
 * or a throw; validation never approves an order that was tampered with.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { kcoCallbackEvent, lambdaContext } from '../../bin/local/server.js';
import { startKcoCallbacks, type KcoCallbacks, type KcoHandlers } from '../support/kco-handlers.js';
import type { OrderLine, UpdateResponse } from '../../functions/kco/order.js';


const TOKEN = 'fuzz-token';
const ORDER_ID = 'fuzz-order';
let kco: KcoCallbacks;
let handlers: KcoHandlers;

// A fresh context per invocation, as Lambda gives: its remaining time counts down from the call.
const context = () => lambdaContext('fuzz');

const event = (callback: string, body: string | null, headers: Record<string, string> = { 'Content-Type': 'application/json' }, token: string | null = TOKEN) =>
  kcoCallbackEvent(callback, ORDER_ID, body, { token, headers });

const callbacks = ['address_update', 'country_change', 'shipping_option_update', 'validation'] as const;

/** A well-formed answer: one of Klarna's codes and, for 400, its exact body shape. */
const expectWellFormed = (result: APIGatewayProxyResult): void => {
  expect([200, 303, 400, 401]).toContain(result.statusCode);
  if (result.statusCode === 400) {
    const body = JSON.parse(result.body) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(['error_text', 'error_type']);
    expect(['address_error', 'unsupported_shipping_address', 'approval_failed']).toContain(body.error_type);
    expect(typeof body.error_text).toBe('string');
    expect(result.body).not.toMatch(/at .+\.(ts|js):\d+/); // no stack trace
  }
  if (result.statusCode === 303) expect(result.headers?.location).toMatch(/^https:\/\/shop\.example\.com\/denied\?reason=/);
};

const swedishAddress = { street_address: 'Sveavägen 1', postal_code: '111 57', city: 'Stockholm', country: 'SE' };
const baseLines: OrderLine[] = [
  { type: 'physical', reference: 'TS-1', name: 'T-shirt', quantity: 2, unit_price: 19900, tax_rate: 2500, total_amount: 39800, total_discount_amount: 0, total_tax_amount: 7960 },
  { type: 'physical', reference: 'BOOK-001', name: 'A book', quantity: 1, unit_price: 14900, tax_rate: 600, total_amount: 14900, total_discount_amount: 0, total_tax_amount: 843 },
  { type: 'discount', reference: 'SPRING', name: 'Spring sale', quantity: 1, unit_price: -5000, tax_rate: 2500, total_amount: -5000, total_discount_amount: 0, total_tax_amount: -1000 },
];
const request = { order_amount: 0, order_tax_amount: 0, order_lines: baseLines, purchase_currency: 'SEK', shipping_address: swedishAddress, billing_address: swedishAddress };
let approvedOrder: Record<string, unknown> & { order_lines: OrderLine[] };

beforeAll(async () => {
  const rules = JSON.parse(readFileSync('bin/local/example-rules.json', 'utf8')) as Record<string, unknown>;
  kco = await startKcoCallbacks({
    tablePrefix: 'fuzz-rules',
    token: TOKEN,
    cacheSeconds: 60,
    rules: [
      ['default', { ...rules, deny_redirect_url: undefined }],
      [`order#${ORDER_ID}`, { deny_redirect_url: 'https://shop.example.com/denied' }],
    ],
  });
  ({ handlers } = kco);
  const priced = await handlers.address_update!(event('address_update', JSON.stringify(request)), context());
  expect(priced.statusCode).toBe(200);
  const body = JSON.parse(priced.body) as UpdateResponse;
  approvedOrder = {
    ...request,
    order_amount: body.order_amount,
    order_tax_amount: body.order_tax_amount,
    order_lines: body.order_lines,
    selected_shipping_option: body.shipping_options!.find((o) => o.preselected),
  };
  expect((await handlers.validation!(event('validation', JSON.stringify(approvedOrder)), context())).statusCode).toBe(200);
}, 60_000);

afterAll(() => kco?.stop());

const anyCallback = fc.constantFrom(...callbacks);

describe('every handler answers anything with a well-formed Klarna answer', () => {
  it('random text bodies', async () => {
    await fc.assert(
      fc.asyncProperty(anyCallback, fc.string({ maxLength: 2000 }), async (callback, body) => {
        expectWellFormed(await handlers[callback]!(event(callback, body), context()));
      }),
      { numRuns: 150 },
    );
  });

  it('random JSON values, random content types, missing and wrong tokens', async () => {
    await fc.assert(
      fc.asyncProperty(
        anyCallback,
        fc.jsonValue({ maxDepth: 4 }),
        fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', ''),
        fc.constantFrom<string | null>(TOKEN, null, '', 'wrong', `${TOKEN} `),
        async (callback, value, contentType, token) => {
          const headers: Record<string, string> = contentType ? { 'content-type': contentType } : {};
          const result = await handlers[callback]!(event(callback, JSON.stringify(value), headers, token), context());
          expectWellFormed(result);
          if (token !== TOKEN) expect(result.statusCode).toBe(401);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('valid orders with one field replaced by an arbitrary value', async () => {
    const paths = [
      ['order_amount'],
      ['order_tax_amount'],
      ['purchase_currency'],
      ['shipping_address'],
      ['shipping_address', 'country'],
      ['order_lines'],
      ['order_lines', 0, 'quantity'],
      ['order_lines', 0, 'unit_price'],
      ['order_lines', 1, 'tax_rate'],
      ['order_lines', 2, 'type'],
      ['order_lines', 3, 'total_amount'],
      ['selected_shipping_option', 'id'],
    ] as const;
    await fc.assert(
      fc.asyncProperty(anyCallback, fc.constantFrom(...paths), fc.jsonValue({ maxDepth: 2 }), async (callback, path, value) => {
        const body = structuredClone(approvedOrder) as Record<string, unknown>;
        let target = body as Record<string | number, unknown>;
        for (const key of path.slice(0, -1)) target = target[key] as Record<string | number, unknown>;
        target[path[path.length - 1]!] = value;
        expectWellFormed(await handlers[callback]!(event(callback, JSON.stringify(body)), context()));
      }),
      { numRuns: 200 },
    );
  });

  it('huge strings, 1001 lines, deep nesting and prototype-pollution keys', async () => {
    const deep = `${'['.repeat(5000)}${']'.repeat(5000)}`;
    const polluting = JSON.stringify(approvedOrder).replace(/^\{/, '{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},');
    const lines1001 = JSON.stringify({ ...approvedOrder, order_lines: Array.from({ length: 1001 }, () => baseLines[0]) });
    const hugeName = JSON.stringify({ ...approvedOrder, order_lines: [{ ...baseLines[0], name: 'n'.repeat(100_000) }] });
    for (const callback of callbacks) {
      for (const body of [deep, polluting, lines1001, hugeName, '"just a string"', 'null', '', '[]']) {
        expectWellFormed(await handlers[callback]!(event(callback, body), context()));
      }
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((await handlers.validation!(event('validation', polluting), context())).statusCode).toBe(200);
    expect((await handlers.address_update!(event('address_update', lines1001), context())).statusCode).toBe(400);
  });
});

describe('validation never approves a tampered order', () => {
  const amountPaths = (order: typeof approvedOrder) => [
    ['order_amount'],
    ['order_tax_amount'],
    ...order.order_lines.flatMap((_, i) => [
      ['order_lines', i, 'total_amount'],
      ['order_lines', i, 'unit_price'],
      ['order_lines', i, 'quantity'],
      ['order_lines', i, 'total_tax_amount'],
      ['order_lines', i, 'tax_rate'],
    ]),
  ];

  it('changing any amount, price, quantity, rate or tax is denied (303 to the deny page)', async () => {
    const paths = amountPaths(approvedOrder);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...paths),
        fc.integer({ min: -100_000, max: 100_000 }).filter((d) => d !== 0),
        async (path, delta) => {
          const order = structuredClone(approvedOrder) as Record<string, unknown>;
          let target = order as Record<string | number, unknown>;
          for (const key of path.slice(0, -1)) target = target[key as string] as Record<string | number, unknown>;
          const last = path[path.length - 1] as string;
          const original = target[last] as number;
          // Klarna's ±1 tolerance on a line's tax is legitimate; a change beyond it is not.
          if (last === 'total_tax_amount' && Math.abs(delta) < 2) return;
          target[last] = original + delta;
          const result = await handlers.validation!(event('validation', JSON.stringify(order)), context());
          expectWellFormed(result);
          expect(result.statusCode).not.toBe(200);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a redirect only ever goes to the configured page, whatever the order says', async () => {
    const order = { ...approvedOrder, order_amount: 1, merchant_urls: { confirmation: 'https://evil.example.com' }, deny_redirect_url: 'https://evil.example.com' };
    const result = await handlers.validation!(event('validation', JSON.stringify(order)), context());
    expect(result.statusCode).toBe(303);
    expect(result.headers?.location).toBe(`https://shop.example.com/denied?reason=order_amount_mismatch&order_id=${ORDER_ID}`);
  });
});
