/**
 * A whole checkout through the local server (HTTP → API Gateway event → the Lambda handlers)
 * against DynamoDB Local, with the rules put through the rules tool's own code.
 */
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { createTables, startDynamoDb, type RunningDynamoDb } from '../../bin/local/dynamodb-local.js';
import { startLocalServer, type LocalServer } from '../../bin/local/server.js';
import { rulesTable } from '../../lib/tables.js';
import { createDocumentClient } from '../../functions/shared/dynamodb.js';
import { putRules } from '../../functions/shared/rules-store.js';
import { TOO_LARGE_TEXT } from '../../functions/kco/answer.js';
import { UNAUTHORIZED_TEXT } from '../../functions/shared/refusal-texts.js';
import type { OrderLine, UpdateResponse } from '../../functions/kco/order.js';
import { klarnaViolations } from '../support/klarna-checks.js';

const TOKEN = 'test-token';
const OLD_TOKEN = 'rotated-out-soon';
const exampleRules = JSON.parse(readFileSync('bin/local/example-rules.json', 'utf8')) as Record<string, unknown>;
const usRules = JSON.parse(readFileSync('bin/local/example-us-rules.json', 'utf8')) as Record<string, unknown>;

let dynamo: RunningDynamoDb;
let server: LocalServer;
let table: string;
const savedEnv = { ...process.env };

const swedishAddress = {
  given_name: 'Test',
  family_name: 'Person',
  email: 'test.person@example.com',
  street_address: 'Sveavägen 1',
  postal_code: '111 57',
  city: 'Stockholm',
  country: 'SE',
};
const germanAddress = { ...swedishAddress, street_address: 'Unter den Linden 5', postal_code: '10117', city: 'Berlin', country: 'DE' };
const californianAddress = { ...swedishAddress, street_address: '1 Market St', postal_code: '94105', city: 'San Francisco', region: 'CA', country: 'US' };

const goods: OrderLine[] = [
  { type: 'physical', reference: 'TS-1', name: 'T-shirt', quantity: 1, unit_price: 19900, tax_rate: 2500, total_amount: 19900, total_discount_amount: 0, total_tax_amount: 3980 },
  { type: 'physical', reference: 'BOOK-001', name: 'A book', quantity: 1, unit_price: 14900, tax_rate: 2500, total_amount: 14900, total_discount_amount: 0, total_tax_amount: 2980 },
];

const callbackBody = (overrides: Record<string, unknown> = {}) => ({
  order_amount: 34800,
  order_tax_amount: 6960,
  order_lines: goods,
  purchase_currency: 'SEK',
  billing_address: swedishAddress,
  shipping_address: swedishAddress,
  locale: 'sv-SE',
  merchant_data: 'cart-42',
  ...overrides,
});

const post = async (path: string, body: unknown, { token = TOKEN, contentType = 'application/json' } = {}) => {
  const url = `${server.url}${path}${token === '' ? '' : `?token=${encodeURIComponent(token)}`}`;
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    redirect: 'manual',
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, json: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
};

const callback = (orderId: string, name: string, body: unknown, options?: Parameters<typeof post>[2]) =>
  post(`/kco/orders/${orderId}/${name}`, body, options);

beforeAll(async () => {
  dynamo = await startDynamoDb();
  table = `checkout-rules-${randomUUID()}`;
  await createTables(dynamo.endpoint, [rulesTable], () => table);
  Object.assign(process.env, {
    DYNAMODB_ENDPOINT: dynamo.endpoint,
    RULES_TABLE: table,
    KCO_CALLBACK_TOKENS: `${TOKEN}, ${OLD_TOKEN}`,
    RULES_CACHE_SECONDS: '0',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    LOG_LEVEL: 'SILENT',
  });
  const client = createDocumentClient(dynamo.endpoint);
  for (const [scope, rules] of [
    ['default', exampleRules],
    ['order#us-order-1', usRules],
    ['order#redirect-order', { deny_redirect_url: 'https://shop.example.com/checkout/denied', expected_order_amount: 1 }],
  ] as const) {
    const put = await putRules(client, table, scope, rules);
    expect(put.ok).toBe(true);
  }
  // A document that breaks the schema, as a hand edit in the console could leave it.
  await client.send(new PutCommand({ TableName: table, Item: { scope: 'order#broken-order', shipping_options: 'free for all' } }));
  client.destroy();
  server = await startLocalServer();
}, 60_000);

afterAll(async () => {
  await server?.close();
  await dynamo?.stop();
  process.env = savedEnv;
});

describe('a Swedish checkout, end to end', () => {
  let afterAddress: UpdateResponse;
  let afterShipping: UpdateResponse;

  it('address_update prices the order for Sweden: standard shipping preselected, VAT per line', async () => {
    const res = await callback('se-order-1', 'address_update', callbackBody());
    expect(res.status).toBe(200);
    afterAddress = res.json as unknown as UpdateResponse;
    // 19900 @25% → 3980; 14900 @6% (BOOK-001 reduced rate) → 843; shipping 4900 @25% → 980.
    expect(afterAddress.order_lines.map((l) => [l.reference, l.tax_rate, l.total_amount, l.total_tax_amount])).toEqual([
      ['TS-1', 2500, 19900, 3980],
      ['BOOK-001', 600, 14900, 843],
      ['standard', 2500, 4900, 980],
    ]);
    expect(afterAddress.order_amount).toBe(39700);
    expect(afterAddress.order_tax_amount).toBe(5803);
    expect(afterAddress.purchase_currency).toBe('SEK');
    expect(afterAddress.merchant_data).toBe('cart-42');
    expect(afterAddress.shipping_options?.map((o) => [o.id, o.price, o.tax_amount, o.preselected])).toEqual([
      ['standard', 4900, 980, true],
      ['express', 9900, 1980, false],
      ['pickup-point', 2900, 580, false],
    ]);
    expect(klarnaViolations(afterAddress)).toEqual([]);
  });

  it('shipping_option_update to express replaces the fee line from the rules, not from the request', async () => {
    const express = afterAddress.shipping_options!.find((o) => o.id === 'express')!;
    const res = await callback(
      'se-order-1',
      'shipping_option_update',
      callbackBody({ order_lines: afterAddress.order_lines, selected_shipping_option: { ...express, price: 1, tax_amount: 0 } }),
    );
    expect(res.status).toBe(200);
    afterShipping = res.json as unknown as UpdateResponse;
    expect(afterShipping.order_lines.filter((l) => l.type === 'shipping_fee')).toEqual([
      expect.objectContaining({ reference: 'express', total_amount: 9900, total_tax_amount: 1980, tax_rate: 2500 }),
    ]);
    expect(afterShipping.order_amount).toBe(44700);
    expect(afterShipping.order_tax_amount).toBe(6803);
    expect(klarnaViolations(afterShipping)).toEqual([]);
  });

  it('validation approves the order exactly as the callbacks priced it', async () => {
    const express = afterShipping.shipping_options!.find((o) => o.id === 'express')!;
    const order = {
      order_id: 'se-order-1',
      purchase_country: 'SE',
      purchase_currency: 'SEK',
      locale: 'sv-SE',
      order_amount: afterShipping.order_amount,
      order_tax_amount: afterShipping.order_tax_amount,
      order_lines: afterShipping.order_lines,
      billing_address: swedishAddress,
      shipping_address: swedishAddress,
      selected_shipping_option: express,
      customer: { type: 'person' },
    };
    const approved = await callback('se-order-1', 'validation', order);
    expect(approved.status).toBe(200);

    // The same order with the shipping fee quietly lowered is refused.
    const cheaper = structuredClone(order);
    const fee = cheaper.order_lines.find((l) => l.type === 'shipping_fee')!;
    Object.assign(fee, { unit_price: 4900, total_amount: 4900, total_tax_amount: 980 });
    Object.assign(cheaper, { order_amount: 39700, order_tax_amount: 5803 });
    const denied = await callback('se-order-1', 'validation', cheaper);
    expect(denied.status).toBe(400);
    expect(denied.json).toEqual({ error_type: 'approval_failed', error_text: expect.stringContaining('delivery cost') });
  });

  it('moving the address to Germany re-taxes every line at German rates and keeps express', async () => {
    const res = await callback(
      'se-order-1',
      'address_update',
      callbackBody({ order_lines: afterShipping.order_lines, shipping_address: germanAddress, billing_address: germanAddress, selected_shipping_option: { id: 'express' } }),
    );
    expect(res.status).toBe(200);
    const body = res.json as unknown as UpdateResponse;
    // 19900 @19% → 3177; BOOK-001 @7% → 975; express 9900 @19% → 1581; pickup-point is Sweden only.
    expect(body.order_lines.map((l) => [l.reference, l.tax_rate, l.total_tax_amount])).toEqual([
      ['TS-1', 1900, 3177],
      ['BOOK-001', 700, 975],
      ['express', 1900, 1581],
    ]);
    expect(body.order_amount).toBe(44700);
    expect(body.order_tax_amount).toBe(5733);
    expect(body.shipping_options?.map((o) => o.id)).toEqual(['standard', 'express']);
  });
});

describe('a Californian checkout with US sales tax (order-scoped rules)', () => {
  it('adds one Sales Tax line at 7.25% on the goods and reconciles', async () => {
    const usGoods: OrderLine[] = [
      { type: 'physical', reference: 'MUG-1', name: 'Mug', quantity: 1, unit_price: 4999, tax_rate: 0, total_amount: 4999, total_discount_amount: 0, total_tax_amount: 0 },
      { type: 'physical', reference: 'CARD-1', name: 'Card', quantity: 2, unit_price: 1250, tax_rate: 0, total_amount: 2500, total_discount_amount: 0, total_tax_amount: 0 },
    ];
    const res = await callback(
      'us-order-1',
      'address_update',
      callbackBody({ order_lines: usGoods, purchase_currency: 'USD', shipping_address: californianAddress, billing_address: californianAddress }),
    );
    expect(res.status).toBe(200);
    const body = res.json as unknown as UpdateResponse;
    // Goods 7499 < free_over 7500 → standard 599; tax 7499 × 7.25% = 543.68 → 544 (shipping untaxed).
    expect(body.order_lines.map((l) => [l.type, l.total_amount, l.tax_rate, l.total_tax_amount])).toEqual([
      ['physical', 4999, 0, 0],
      ['physical', 2500, 0, 0],
      ['shipping_fee', 599, 0, 0],
      ['sales_tax', 544, 0, 0],
    ]);
    expect(body.order_lines[3]!.name).toBe('Sales Tax');
    expect(body.order_amount).toBe(8642);
    expect(body.order_tax_amount).toBe(544);
    expect(klarnaViolations(body)).toEqual([]);

    const order = {
      purchase_country: 'US',
      purchase_currency: 'USD',
      order_amount: body.order_amount,
      order_tax_amount: body.order_tax_amount,
      order_lines: body.order_lines,
      billing_address: californianAddress,
      shipping_address: californianAddress,
      selected_shipping_option: body.shipping_options!.find((o) => o.preselected),
    };
    expect((await callback('us-order-1', 'validation', order)).status).toBe(200);
    // A business buyer is refused by this store's order rules.
    const b2b = await callback('us-order-1', 'validation', { ...order, customer: { type: 'organization' } });
    expect(b2b.status).toBe(400);
    expect(b2b.json).toEqual({ error_type: 'approval_failed', error_text: 'Sorry, we sell to consumers only. Please check out as a private person.' });
  });
});

describe('refusals Klarna shows the shopper', () => {
  it('a blocked postal prefix is unsupported_shipping_address with the merchant’s own text', async () => {
    const res = await callback('se-order-2', 'address_update', callbackBody({ shipping_address: { ...swedishAddress, postal_code: '981 31' } }));
    expect(res.status).toBe(400);
    expect(res.json).toEqual({ error_type: 'unsupported_shipping_address', error_text: exampleRules.error_texts && (exampleRules.error_texts as Record<string, string>).postal_code_blocked });
  });

  it('a PO box is address_error', async () => {
    const res = await callback('se-order-2', 'address_update', callbackBody({ shipping_address: { ...swedishAddress, street_address: 'Box 123' } }));
    expect(res.status).toBe(400);
    expect(res.json?.error_type).toBe('address_error');
  });

  it('country_change to a billing country the store does not accept is address_error', async () => {
    const res = await callback('se-order-2', 'country_change', callbackBody({ billing_address: { ...swedishAddress, country: 'NO' } }));
    expect(res.status).toBe(400);
    expect(res.json?.error_type).toBe('address_error');
  });

  it('validation denial redirects with 303 to the configured page with reason and order id', async () => {
    const priced = (await callback('redirect-order', 'address_update', callbackBody())).json as unknown as UpdateResponse;
    const res = await callback('redirect-order', 'validation', {
      ...callbackBody(),
      order_lines: priced.order_lines,
      order_amount: priced.order_amount,
      order_tax_amount: priced.order_tax_amount,
      selected_shipping_option: priced.shipping_options!.find((o) => o.preselected),
    });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('https://shop.example.com/checkout/denied?reason=expected_amount_mismatch&order_id=redirect-order');
  });
});

describe('what the callbacks refuse before deciding anything', () => {
  it('401 without a token, with a wrong one; the previous token still works during rotation', async () => {
    expect((await callback('se-order-3', 'address_update', callbackBody(), { token: '' })).status).toBe(401);
    const wrong = await callback('se-order-3', 'address_update', callbackBody(), { token: 'nope' });
    expect(wrong.status).toBe(401);
    // The same words API Gateway's own 401 uses (the stack's gateway response reads the same constant).
    expect(wrong.json).toEqual({ error: UNAUTHORIZED_TEXT });
    expect(wrong.headers.get('cache-control')).toBe('no-store');
    expect((await callback('se-order-3', 'address_update', callbackBody(), { token: OLD_TOKEN })).status).toBe(200);
  });

  it('a path that is not valid percent-encoding is a 400 from the server, never a 502', async () => {
    const answer = await callback('bad%E0%A4%A', 'validation', callbackBody());
    expect({ status: answer.status, json: answer.json }).toEqual({ status: 400, json: { message: 'Bad Request' } });
  });

  it('malformed JSON and a wrong content type are Klarna-shaped 400s', async () => {
    const bad = await callback('se-order-3', 'address_update', '{"order_lines": [');
    expect(bad.status).toBe(400);
    expect(bad.json?.error_type).toBe('approval_failed');
    const text = await callback('se-order-3', 'validation', JSON.stringify(callbackBody()), { contentType: 'text/plain' });
    expect(text.status).toBe(400);
    expect(text.json?.error_type).toBe('approval_failed');
  });

  it('more than 1000 lines is refused naming the field, without echoing values', async () => {
    const many = Array.from({ length: 1001 }, () => goods[0]!);
    const res = await callback('se-order-3', 'address_update', callbackBody({ order_lines: many }));
    expect(res.status).toBe(400);
    expect(res.json).toEqual({ error_type: 'approval_failed', error_text: 'The order could not be read: order_lines is missing or invalid.' });
  });

  it('a body over the limit (6 MiB) is refused before parsing, in Klarna’s shape (400, no 413)', async () => {
    const huge = JSON.stringify(callbackBody({ merchant_data: 'x'.repeat(6 * 1024 * 1024) }));
    const res = await callback('se-order-3', 'address_update', huge);
    expect(res.status).toBe(400);
    expect(res.json).toEqual({ error_type: 'approval_failed', error_text: TOO_LARGE_TEXT });
  });

  it('an order Klarna allows is not too large: 1000 lines with long texts (over 1 MiB) are read', async () => {
    const longLine = (i: number) => ({
      ...goods[0]!,
      reference: `TS-${i}`.padEnd(255, '-'),
      name: 'N'.repeat(255),
      merchant_data: 'm'.repeat(1024),
      image_url: `https://shop.example.com/${'i'.repeat(900)}.jpg`,
      product_url: `https://shop.example.com/${'p'.repeat(900)}`,
    });
    const body = JSON.stringify(callbackBody({ order_lines: Array.from({ length: 999 }, (_, i) => longLine(i)) }));
    expect(body.length).toBeGreaterThan(2 * 1024 * 1024);
    const res = await callback('se-order-3', 'address_update', body);
    expect(res.status).toBe(200);
    expect((res.json as UpdateResponse | undefined)?.order_lines).toHaveLength(1000);
  });

  it('a rules document that breaks the schema fails closed: updates refuse, validation denies', async () => {
    const update = await callback('broken-order', 'address_update', callbackBody());
    expect(update.status).toBe(400);
    expect(update.json?.error_type).toBe('approval_failed');
    const validation = await callback('broken-order', 'validation', callbackBody());
    expect(validation.status).toBe(400);
    expect(validation.json?.error_type).toBe('approval_failed');
  });
});
