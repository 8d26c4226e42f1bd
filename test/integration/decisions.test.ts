/**
 * The decisions a merchant relies on, through the real handlers and DynamoDB Local: no rules
 * means no approval, an unannounced order is refused where the store requires one, the cart is
 * compared line by line, Klarna's discount lines count, and what clients really send (nulls,
 * lower-case currencies, no selected option) gets the right answer. Log lines are read too:
 * each failure that fails closed says why.
 */
import { randomUUID } from 'node:crypto';
import { kcoCallbackEvent, lambdaContext } from '../../bin/local/server.js';
import { createDocumentClient } from '../../functions/shared/dynamodb.js';
import { putRules } from '../../functions/shared/rules-store.js';
import { logger } from '../../functions/shared/log.js';
import { reconcile } from '../../functions/kco/money.js';
import type { UpdateResponse } from '../../functions/kco/order.js';
import { callbackNames, startKcoCallbacks, type KcoCallbacks, type KcoHandlers } from '../support/kco-handlers.js';
import { captureLogs } from '../support/log-capture.js';

const TOKEN = 'decisions-token';
let kco: KcoCallbacks;
let handlers: KcoHandlers;

const address = { street_address: 'Sveavägen 1', postal_code: '111 57', city: 'Stockholm', country: 'SE' };
const tshirt = { type: 'physical', reference: 'TS-1', name: 'T-shirt', quantity: 1, unit_price: 19900, tax_rate: 2500, total_amount: 19900, total_discount_amount: 0, total_tax_amount: 3980 };

const storeRules = {
  shipping_countries: ['SE'],
  billing_countries: ['SE'],
  block_po_boxes: true,
  shipping_options: [{ id: 'standard', name: 'Standard', price: 4900, tax_rate: 2500, preselected: true }],
  tax: { mode: 'vat', rates: { SE: 2500 } },
};

const body = (overrides: Record<string, unknown> = {}) => ({
  order_amount: 19900,
  order_tax_amount: 3980,
  order_lines: [tshirt],
  purchase_currency: 'SEK',
  billing_address: address,
  shipping_address: address,
  ...overrides,
});

type Answer = { status: number; json?: Record<string, unknown>; headers: Record<string, string | number | boolean> };

const call = async (callback: string, orderId: string, payload: unknown): Promise<Answer> => {
  const text = typeof payload === 'string' ? payload : JSON.stringify(payload);
  const result = await handlers[callback as keyof KcoHandlers](kcoCallbackEvent(callback, orderId, text, { token: TOKEN }), lambdaContext('decisions'));
  return { status: result.statusCode, headers: (result.headers ?? {}) as Answer['headers'], ...(result.body ? { json: JSON.parse(result.body) as Record<string, unknown> } : {}) };
};

/** The whole priced order of address_update, then what validation says of it. */
const checkout = async (orderId: string, overrides: Record<string, unknown> = {}) => {
  const priced = await call('address_update', orderId, body(overrides));
  expect(priced.status).toBe(200);
  const order = priced.json as unknown as UpdateResponse;
  return { order, validation: await call('validation', orderId, { ...body(overrides), ...order, selected_shipping_option: { id: 'standard' } }) };
};

// Log lines written while a test runs (the handlers' logger is at INFO in this file).
const logs = captureLogs();
const logged = () => logs.entries();

beforeAll(async () => {
  // No rules yet: the first tests are about a deployment before the merchant has put any.
  kco = await startKcoCallbacks({ tablePrefix: 'decisions-rules', token: TOKEN, cacheSeconds: 0 });
  ({ handlers } = kco);
  logger.setLogLevel('INFO');
}, 60_000);

afterAll(async () => {
  logger.setLogLevel('SILENT');
  await kco?.stop();
});

const put = async (scope: string, rules: Record<string, unknown>) => {
  const client = createDocumentClient(kco.dynamo.endpoint);
  try {
    const result = await putRules(client, kco.table, scope, rules);
    expect(result.ok).toBe(true);
  } finally {
    client.destroy();
  }
};

describe('a fresh deployment, before the merchant has put any rules', () => {
  it('refuses every callback (validation denies) and logs rules_missing for each', async () => {
    const anything = body({ shipping_address: { ...address, street_address: 'PO Box 12', country: 'US' }, purchase_currency: 'XXX' });
    for (const callback of callbackNames) {
      const answer = await call(callback, 'fresh-order', anything);
      expect({ callback, status: answer.status, error_type: answer.json?.error_type }).toEqual({ callback, status: 400, error_type: 'approval_failed' });
    }
    const reasons = logged()
      .filter((entry) => entry.message === 'callback answered')
      .map((entry) => [entry.callback, entry.decision, entry.reason]);
    expect(reasons).toEqual(callbackNames.map((callback) => [callback, 'error', 'rules_missing']));
  });

  it('refuses with an order scope alone: the store has still said nothing', async () => {
    await put('order#lonely-order', { expected_order_amount: 19900 });
    const answer = await call('validation', 'lonely-order', body());
    expect(answer).toMatchObject({ status: 400, json: { error_type: 'approval_failed' } });
    expect(logged().find((entry) => entry.message === 'callback answered')).toMatchObject({ reason: 'rules_missing' });
  });
});

describe('once the store has rules', () => {
  beforeAll(() => put('default', storeRules));

  it('approves a priced order without an order scope while the store does not require one', async () => {
    const { validation } = await checkout('walk-in-order');
    expect(validation.status).toBe(200);
  });

  it('refuses an order without its scope once the store requires one (order_unknown), in every callback', async () => {
    await put('default', { ...storeRules, require_order_scope: true });
    try {
      for (const callback of callbackNames) {
        const answer = await call(callback, 'unannounced-order', body({ selected_shipping_option: { id: 'standard' } }));
        expect({ callback, status: answer.status }).toEqual({ callback, status: 400 });
        expect(answer.json?.error_text).toBe('We could not find your order. Please return to the shop and try again.');
      }
      expect(new Set(logged().filter((e) => e.message === 'callback answered').map((e) => e.reason))).toEqual(new Set(['order_unknown']));
      // Announced by the shop: the same order goes through.
      await put('order#announced-order', { expected_order_amount: 19900 + 4900, expected_order_lines: [{ reference: 'TS-1', quantity: 1, total_amount: 19900 }] });
      expect((await checkout('announced-order')).validation.status).toBe(200);
    } finally {
      await put('default', storeRules);
    }
  });

  it('denies a cart that reaches the agreed total with other goods (cart_mismatch), logging the line index only', async () => {
    await put('order#swapped-order', { expected_order_amount: 19900 + 4900, expected_order_lines: [{ reference: 'TS-1', quantity: 1, total_amount: 19900 }] });
    const hoodie = { ...tshirt, reference: 'HOODIE-9', name: 'Hoodie', unit_price: 24900, total_amount: 24900, total_tax_amount: 4980 };
    const coupon = { type: 'discount', reference: 'COUPON', name: 'Coupon', quantity: 1, unit_price: -5000, tax_rate: 2500, total_amount: -5000, total_discount_amount: 0, total_tax_amount: -1000 };
    const { order, validation } = await checkout('swapped-order', { order_lines: [hoodie, coupon], order_amount: 19900, order_tax_amount: 3980 });
    expect(order.order_amount).toBe(19900 + 4900);
    expect(validation).toMatchObject({ status: 400, json: { error_type: 'approval_failed' } });
    const entry = logged().find((e) => e.message === 'callback answered' && e.callback === 'validation');
    expect(entry).toMatchObject({ decision: 'deny', reason: 'cart_mismatch', line: 0 });
    expect(JSON.stringify(logged())).not.toContain('HOODIE-9');
  });

  it('approves a consistent order with a Klarna discount line and denies one whose amount leaves it out', async () => {
    await put('order#discounted-order', { expected_order_amount: 19900 + 4900 });
    const { order } = await checkout('discounted-order');
    const discount = { name: 'Welcome', quantity: 1, unit_price: -2000, tax_rate: 2500, total_amount: -2000, total_tax_amount: -400 };
    const validation = (amount: number) =>
      call('validation', 'discounted-order', { ...body(), ...order, discount_lines: [discount], order_amount: amount, order_tax_amount: order.order_tax_amount - 400, selected_shipping_option: { id: 'standard' } });
    expect((await validation(order.order_amount - 2000)).status).toBe(200);
    expect((await validation(order.order_amount)).status).toBe(400);
    // After checkout's own validation: the discounted order approved, the one leaving it out denied.
    expect(logged().filter((e) => e.callback === 'validation').map((e) => e.reason)).toEqual([undefined, undefined, 'order_amount_mismatch']);
  });
});

describe('what clients really send', () => {
  beforeAll(() => put('default', storeRules));

  it('reads a null optional field as absent, in every callback', async () => {
    const withNulls = body({
      merchant_data: null,
      customer: null,
      order_lines: [{ ...tshirt, quantity_unit: null, image_url: null, product_url: null, merchant_data: null }],
      shipping_address: { ...address, street_address2: null, care_of: null, region: null },
    });
    const priced = await call('address_update', 'nulls-order', withNulls);
    expect(priced.status).toBe(200);
    const order = priced.json as unknown as UpdateResponse;
    expect(reconcile(order)).toBeUndefined();
    expect(order.order_lines[0]).not.toHaveProperty('quantity_unit');
    for (const callback of ['country_change', 'shipping_option_update'] as const) {
      expect({ callback, status: (await call(callback, 'nulls-order', { ...withNulls, selected_shipping_option: { id: 'standard' } })).status }).toEqual({ callback, status: 200 });
    }
    const validation = await call('validation', 'nulls-order', { ...withNulls, ...order, selected_shipping_option: { id: 'standard', name: null } });
    expect(validation.status).toBe(200);
  });

  it('still refuses a required field sent as null', async () => {
    const answer = await call('address_update', 'null-amount', body({ order_amount: null }));
    expect(answer).toMatchObject({ status: 400, json: { error_type: 'approval_failed', error_text: 'The order could not be read: order_amount is missing or invalid.' } });
  });

  it('answers a lower-case currency in upper case', async () => {
    const priced = await call('address_update', 'lower-case-order', body({ purchase_currency: 'sek' }));
    expect(priced.json?.purchase_currency).toBe('SEK');
  });

  it('refuses an order whose only line is a shopper-sent shipping fee, and denies it', async () => {
    const feeOnly = body({ order_amount: 4900, order_tax_amount: 980, order_lines: [{ ...tshirt, type: 'shipping_fee', reference: 'standard', name: 'Standard', unit_price: 4900, total_amount: 4900, total_tax_amount: 980 }] });
    const update = await call('address_update', 'fee-only', feeOnly);
    expect(update).toMatchObject({ status: 400, json: { error_type: 'approval_failed', error_text: 'Your cart is empty. Please add an item and try again.' } });
    expect((await call('validation', 'fee-only', feeOnly)).status).toBe(400);
  });

  it('tells a shopper without a selected option that none was selected', async () => {
    const answer = await call('shipping_option_update', 'no-choice', body());
    expect(answer).toMatchObject({ status: 400, json: { error_text: 'Please choose a delivery option.' } });
  });

  it('refuses a disguised PO box as an address error', async () => {
    const answer = await call('address_update', 'disguised', body({ shipping_address: { ...address, street_address: 'Ｐ.0.\u200bＢｏｘ １２' } }));
    expect(answer).toMatchObject({ status: 400, json: { error_type: 'address_error' } });
  });
});

describe('a body nested deeper than the parser can go', () => {
  it.each([
    ['arrays', `{"order_lines":${'['.repeat(200_000)}${']'.repeat(200_000)}}`],
    ['objects with nulls', `{"a":${'{"a":'.repeat(200_000)}null${'}'.repeat(200_000)}}`],
    ['objects', `{"order_lines":[${'{"a":'.repeat(200_000)}1${'}'.repeat(200_000)}]}`],
    ['arrays in a line', `{"order_lines":[{"name":${'['.repeat(200_000)}${']'.repeat(200_000)}}]}`],
    ['arrays with an escape (the reviver path)', `{"x":"\\u0041","order_lines":${'['.repeat(200_000)}${']'.repeat(200_000)}}`],
  ])('%s: 400 invalid_request, logged as a warning, never internal_error', async (_kind, text) => {
    await put('default', storeRules);
    for (const callback of ['address_update', 'validation']) {
      logs.clear();
      const answer = await call(callback, `deep-${randomUUID()}`, text);
    expect(answer.status).toBe(400);
    const entries = logged() as { level?: string; reason?: string }[];
    expect(entries.some((e) => e.level === 'ERROR')).toBe(false);
    expect(entries.some((e) => e.reason === 'internal_error')).toBe(false);
    expect(entries.some((e) => e.reason === 'invalid_request')).toBe(true);
    }
  });
});
