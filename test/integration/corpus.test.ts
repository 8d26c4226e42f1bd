/**
 * Klarna order payloads written by other projects (test/fixtures/corpus, copied from
 * shared/klarna/corpus with its SOURCES.md) replayed through every callback: they show what the
 * world sends. Never a 5xx, always one of Klarna's answers, and validation never approves one
 * that fails Klarna's arithmetic, recomputed here independently of functions/kco/money.ts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { kcoCallbackEvent, lambdaContext } from '../../bin/local/server.js';
import { callbackNames, startKcoCallbacks, type KcoCallbacks, type KcoHandlers } from '../support/kco-handlers.js';

const TOKEN = 'corpus-token';
const DIR = 'test/fixtures/corpus';

type Line = { type?: string; quantity: number; unit_price: number; total_amount: number; total_discount_amount?: number; tax_rate: number; total_tax_amount: number };
type Payload = { order_amount: number; order_tax_amount: number; order_lines: Line[]; discount_lines?: Line[]; [key: string]: unknown };

const corpus = readdirSync(DIR)
  .filter((name) => name.endsWith('.json'))
  .sort()
  .map((name) => ({ name, payload: (JSON.parse(readFileSync(`${DIR}/${name}`, 'utf8')) as { payload: Payload }).payload }));

/** Klarna's rules, exactly, in integers: |tax·(10000+rate) − total·rate| ≤ 10000+rate. */
const taxOk = (l: Line): boolean => Math.abs(l.total_tax_amount * (10000 + l.tax_rate) - l.total_amount * l.tax_rate) <= 10000 + l.tax_rate;
const klarnaConsistent = (p: Payload): boolean => {
  const lines = p.order_lines ?? [];
  const discounts = p.discount_lines ?? [];
  if (!lines.every((l) => l.total_amount === l.quantity * l.unit_price - (l.total_discount_amount ?? 0) && taxOk(l))) return false;
  if (!discounts.every((l) => l.total_amount === l.quantity * l.unit_price && taxOk(l))) return false;
  const all = [...lines, ...discounts];
  const amount = all.reduce((sum, l) => sum + l.total_amount, 0);
  const tax = all.reduce((sum, l) => sum + l.total_tax_amount + (l.type === 'sales_tax' ? l.total_amount : 0), 0);
  return amount === p.order_amount && tax === p.order_tax_amount;
};

let callbacks: KcoCallbacks;
let handlers: KcoHandlers;
const exampleRules = JSON.parse(readFileSync('bin/local/example-rules.json', 'utf8')) as Record<string, unknown>;

beforeAll(async () => {
  callbacks = await startKcoCallbacks({
    tablePrefix: 'corpus-rules',
    token: TOKEN,
    cacheSeconds: 60,
    // A store that has said yes to everything but Klarna's arithmetic, and (as the order scope of
    // the "example" orders) the example store of `npm start`.
    rules: [
      ['default', {}],
      ['order#example', exampleRules],
    ],
  });
  ({ handlers } = callbacks);
}, 60_000);

afterAll(() => callbacks?.stop());

type Answer = { status: number; headers: Record<string, unknown>; body: string };

const replay = async (callback: string, orderId: string, payload: Payload): Promise<Answer> => {
  const result = await handlers[callback as keyof KcoHandlers](kcoCallbackEvent(callback, orderId, JSON.stringify(payload), { token: TOKEN }), lambdaContext('corpus'));
  return { status: result.statusCode, headers: result.headers ?? {}, body: result.body };
};

/** One of Klarna's answers: 200 (an update that reconciles), 303 with Location, 400 with its error shape. */
const expectKlarnaShaped = (callback: string, answer: Answer): void => {
  expect([200, 303, 400]).toContain(answer.status);
  if (answer.status === 400) {
    const error = JSON.parse(answer.body) as { error_type?: string; error_text?: string };
    expect(['address_error', 'unsupported_shipping_address', 'approval_failed']).toContain(error.error_type);
    expect(error.error_text).toEqual(expect.any(String));
  }
  if (answer.status === 200 && callback !== 'validation') {
    const order = JSON.parse(answer.body) as Payload & { purchase_currency: string };
    expect(klarnaConsistent(order)).toBe(true);
    expect(order.order_lines.length).toBeLessThanOrEqual(1000);
    expect(order.purchase_currency).toMatch(/^[A-Z]{3}$/);
  }
};

describe.each(['store', 'example'])('the corpus under the %s rules', (rules) => {
  it.each(corpus)('$name: every callback answers as Klarna expects', async ({ name, payload }) => {
    const orderId = rules === 'example' ? 'example' : `corpus-${name.replace(/[^A-Za-z0-9]/g, '').slice(0, 60)}`;
    for (const callback of callbackNames) {
      const answer = await replay(callback, orderId, payload);
      expectKlarnaShaped(callback, answer);
      if (callback === 'validation' && answer.status === 200) expect({ name, consistent: klarnaConsistent(payload) }).toEqual({ name, consistent: true });
    }
  });
});

describe('the corpus read as written', () => {
  it('reads every payload that writes absent fields as null (none is refused as unreadable)', async () => {
    const withNulls = corpus.filter(({ payload }) => JSON.stringify(payload).includes('null'));
    expect(withNulls.length).toBeGreaterThanOrEqual(5);
    for (const { name, payload } of withNulls) {
      const answer = await replay('address_update', 'corpus-nulls', payload);
      expect({ name, unreadable: answer.body.includes('could not be read') }).toEqual({ name, unreadable: false });
    }
  });

  it('approves, under a store that asks nothing more, exactly the payloads that add up, buy something and have an address', async () => {
    const approved: string[] = [];
    const expected: string[] = [];
    for (const { name, payload } of corpus) {
      if ((await replay('validation', 'corpus-any', payload)).status === 200) approved.push(name);
      const address = (payload.shipping_address ?? payload.billing_address) as { country?: string } | undefined;
      const buys = (payload.order_lines ?? []).some((l) => l.type === undefined || ['physical', 'digital', 'gift_card'].includes(l.type));
      if (klarnaConsistent(payload) && buys && address?.country) expected.push(name);
    }
    expect(approved).toEqual(expected);
    expect(approved.length).toBeGreaterThanOrEqual(10);
  });
});
