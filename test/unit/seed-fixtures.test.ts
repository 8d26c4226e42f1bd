/**
 * Klarna's own example payloads (test/fixtures/seed, transcribed from the KCO callbacks
 * reference) parse, and get the answers the rules call for. Klarna's callback requests are
 * placeholders (order_amount 0 beside a 50000 line); what we answer must reconcile all the same.
 */
import { denyPurchase, updated } from '../../functions/kco/answer.js';
import { addressUpdate, countryChange, shippingOptionUpdate, type Outcome } from '../../functions/kco/callbacks.js';
import { validateOrder } from '../../functions/kco/checks.js';
import { reconcile } from '../../functions/kco/money.js';
import { safeParse } from '../../functions/kco/fast-parse.js';
import { callbackRequestParser, validationOrderParser, type CallbackRequest, type UpdateResponse } from '../../functions/kco/order.js';
import type { MerchantRules } from '../../functions/kco/rules.js';
import addressUpdateRequest from '../fixtures/seed/address-update.request.json';
import addressUpdateResponse from '../fixtures/seed/address-update.response.json';
import countryChangeRequest from '../fixtures/seed/country-change.request.json';
import countryChangeResponse from '../fixtures/seed/country-change.response.json';
import shippingOptionUpdateRequest from '../fixtures/seed/shipping-option-update.request.json';
import shippingOptionUpdateResponse from '../fixtures/seed/shipping-option-update.response.json';
import validationOrderJson from '../fixtures/seed/validation.order.json';
import { klarnaViolations } from '../support/klarna-checks.js';

/** US store, VAT-style 10% (as Klarna's example line carries), with Klarna's example option. */
const vatUsRules: MerchantRules = {
  shipping_countries: ['US'],
  billing_countries: ['US'],
  block_po_boxes: true,
  purchase_currency: 'USD',
  shipping_options: [
    { id: 'express_priority', name: 'EXPRESS 1-2 Days', description: 'Delivery by 4:30 pm', price: 0, tax_rate: 1000, shipping_method: 'PickUpStore' },
    { id: 'standard', name: 'Standard', price: 1500, tax_rate: 1000, preselected: true },
  ],
  tax: { mode: 'vat', rates: { US: 1000 } },
};

/** The same store with US sales tax (California 7.25%). */
const salesTaxUsRules: MerchantRules = {
  ...vatUsRules,
  tax: { mode: 'sales_tax', rates: { 'US-CA': 725, US: 0 } },
};

const callbacks = [
  { name: 'address_update', request: addressUpdateRequest, response: addressUpdateResponse, decide: addressUpdate },
  { name: 'country_change', request: countryChangeRequest, response: countryChangeResponse, decide: countryChange },
  { name: 'shipping_option_update', request: shippingOptionUpdateRequest, response: shippingOptionUpdateResponse, decide: shippingOptionUpdate },
] as const;

const keysOf = (value: object): string[] => Object.keys(value).sort();
const unionOfKeys = (values: readonly object[]): Set<string> => new Set(values.flatMap((v) => Object.keys(v)));

const bodyOf = (outcome: Outcome): UpdateResponse => {
  if (outcome.kind !== 'update') throw new Error(`expected an update, got ${JSON.stringify(outcome)}`);
  return outcome.body;
};

const parseRequest = (json: unknown): CallbackRequest => {
  const parsed = safeParse(callbackRequestParser, json);
  if (!parsed.success) throw new Error(JSON.stringify(parsed.error.issues));
  return parsed.data;
};

describe.each(callbacks)('seed $name', ({ name, request, response, decide }) => {
  it('parses with callbackRequestParser, keeping the extra line fields Klarna sent', () => {
    const parsed = parseRequest(request);
    expect(parsed.order_lines).toHaveLength(1);
    expect(parsed.order_lines[0]).toMatchObject({ reference: '19-402-USA', total_amount: 50000, total_tax_amount: 4545, subscription: { interval: 'DAY' } });
    expect(parsed.selected_shipping_option?.id).toBe('express_priority');
    expect(parsed.shipping_address).toEqual({
      street_address: 'Lombard St 10',
      street_address2: 'Apt 214',
      street_name: 'Lombard St',
      street_number: '10',
      house_extension: 'B',
      postal_code: '90210',
      city: 'Beverly Hills',
      region: 'CA',
      country: 'US',
      care_of: 'C/O',
    });
  });

  it('is a placeholder that does not reconcile as sent (order_amount 0)', () => {
    expect(reconcile(parseRequest(request))).toEqual({ reason: 'order_amount_mismatch' });
  });

  it('answers 200 under VAT rules with a body that reconciles: the line as sent plus the free express fee', () => {
    const body = bodyOf(decide(parseRequest(request), vatUsRules));
    expect(klarnaViolations(body)).toEqual([]);
    expect([body.order_amount, body.order_tax_amount, body.purchase_currency]).toEqual([50000, 4545, 'USD']);
    expect(body.order_lines.map((l) => [l.type, l.reference, l.total_amount, l.tax_rate, l.total_tax_amount])).toEqual([
      ['physical', '19-402-USA', 50000, 1000, 4545],
      ['shipping_fee', 'express_priority', 0, 1000, 0],
    ]);
    expect(body.shipping_options?.map((o) => [o.id, o.price, o.preselected])).toEqual([
      ['express_priority', 0, true],
      ['standard', 1500, false],
    ]);
    const answer = updated(body);
    expect(answer.statusCode).toBe(200);
    expect(JSON.parse(answer.body)).toEqual(body);
  });

  it(`answers only keys Klarna's example ${name} response has, at every level`, () => {
    const body = bodyOf(decide(parseRequest(request), vatUsRules));
    const allowedTop = new Set(Object.keys(response));
    expect(keysOf(body).filter((k) => !allowedTop.has(k))).toEqual([]);
    for (const required of ['order_amount', 'order_tax_amount', 'order_lines', 'purchase_currency']) expect(keysOf(body)).toContain(required);
    const allowedLine = unionOfKeys(response.order_lines);
    expect(body.order_lines.flatMap((l) => keysOf(l).filter((k) => !allowedLine.has(k)))).toEqual([]);
    const allowedOption = unionOfKeys(response.shipping_options);
    expect((body.shipping_options ?? []).flatMap((o) => keysOf(o).filter((k) => !allowedOption.has(k)))).toEqual([]);
  });

  it('answers 200 under US sales-tax rules with a Sales Tax line of 7.25% and a body that reconciles', () => {
    const body = bodyOf(decide(parseRequest(request), salesTaxUsRules));
    expect(klarnaViolations(body)).toEqual([]);
    expect(body.order_lines.map((l) => [l.type, l.name, l.total_amount, l.tax_rate, l.total_tax_amount])).toEqual([
      ['physical', 'Red T-Shirt', 50000, 0, 0],
      ['shipping_fee', 'EXPRESS 1-2 Days', 0, 0, 0],
      ['sales_tax', 'Sales Tax', 3625, 0, 0],
    ]);
    expect([body.order_amount, body.order_tax_amount]).toEqual([53625, 3625]);
  });

  it('is refused for a store that does not ship to the US', () => {
    expect(decide(parseRequest(request), { ...vatUsRules, shipping_countries: ['SE'] })).toEqual({
      kind: 'refuse',
      reason: 'shipping_country_not_allowed',
    });
  });
});

describe('seed validation order', () => {
  const parsed = safeParse(validationOrderParser, validationOrderJson);
  const asSent = parsed.success ? parsed.data : undefined;
  // The example's discount line contradicts itself (5 × −10000 is not −2500) and its order_amount
  // leaves the discount out: the rules are tried on its goods alone, the discount separately below.
  const { discount_lines: _exampleDiscounts, ...order } = asSent ?? ({} as NonNullable<typeof asSent>);

  /** Rules the example order satisfies: no shipping options (it has no fee line), 10% US VAT. */
  const fitting: MerchantRules = {
    shipping_countries: ['US'],
    billing_countries: ['US'],
    blocked_postal_code_prefixes: { US: ['10'] },
    block_po_boxes: true,
    purchase_currency: 'USD',
    tax: { mode: 'vat', rates: { US: 1000 } },
    min_order_amount: 50000,
    max_order_amount: 50000,
    max_quantity_per_line: 5,
    denied_references: ['OTHER-SKU'],
    allowed_customer_types: ['person'],
    expected_order_amount: 50000,
  };

  it('parses with validationOrderParser', () => {
    expect(parsed.success).toBe(true);
    expect(order.order_amount).toBe(50000);
    expect(order.order_tax_amount).toBe(4545);
    expect(order.customer).toEqual({ type: 'person' });
    expect(order.purchase_country).toBe('US');
  });

  it('is refused as sent, for its self-contradicting discount line', () => {
    expect(asSent?.discount_lines).toHaveLength(1);
    expect(reconcile(asSent!)).toEqual({ reason: 'discount_line_mismatch', line: 0 });
    expect(validateOrder(asSent!, fitting)).toEqual({ approve: false, reason: 'discount_line_mismatch', line: 0 });
  });

  it('reconciles without the discount line', () => {
    expect(reconcile(order)).toBeUndefined();
  });

  // A consistent Klarna discount of 25.00 at 10 %: −2500, tax −227 (−2500 + 2500·10000/11000 → −227).
  const discount = { name: 'Super deal', quantity: 1, unit_price: -2500, tax_rate: 1000, total_amount: -2500, total_tax_amount: -227 };

  it('is approved with a consistent discount line counted in both totals', () => {
    const discounted = { ...order, discount_lines: [discount], order_amount: 47500, order_tax_amount: 4545 - 227 };
    expect(reconcile(discounted)).toBeUndefined();
    // expected_order_amount stays the shop's total before Klarna's discount: 50000.
    expect(validateOrder(discounted, { ...fitting, min_order_amount: 47500 })).toEqual({ approve: true });
  });

  it('is denied when its order_amount leaves the discount out', () => {
    const withoutDiscount = { ...order, discount_lines: [discount], order_amount: 50000, order_tax_amount: 4545 - 227 };
    expect(validateOrder(withoutDiscount, fitting)).toEqual({ approve: false, reason: 'order_amount_mismatch' });
  });

  it('is denied when the store turned Klarna discounts off', () => {
    const discounted = { ...order, discount_lines: [discount], order_amount: 47500, order_tax_amount: 4545 - 227 };
    expect(validateOrder(discounted, { ...fitting, min_order_amount: 47500, klarna_discounts: false })).toEqual({ approve: false, reason: 'discount_not_allowed' });
  });

  it('is approved under rules it satisfies', () => {
    expect(validateOrder(order, fitting)).toEqual({ approve: true });
  });

  it.each<[string, MerchantRules, { reason: string; line?: number }]>([
    ['a store-wide shipping option (no fee line)', { ...fitting, shipping_options: [{ id: 'express_priority', name: 'Express', price: 0, tax_rate: 0 }] }, { reason: 'shipping_fee_mismatch' }],
    ['25% VAT', { ...fitting, tax: { mode: 'vat', rates: { US: 2500 } } }, { reason: 'tax_mismatch', line: 0 }],
    ['US sales tax', { ...fitting, tax: { mode: 'sales_tax', rates: { 'US-CA': 725 } } }, { reason: 'tax_mismatch', line: 0 }],
    ['no US rate', { ...fitting, tax: { mode: 'vat', rates: { SE: 2500 } } }, { reason: 'no_tax_rate' }],
    ['shipping to Sweden only', { ...fitting, shipping_countries: ['SE'] }, { reason: 'shipping_country_not_allowed' }],
    ['billing in Sweden only', { ...fitting, billing_countries: ['SE'] }, { reason: 'billing_country_not_allowed' }],
    ['postal prefix 902 blocked', { ...fitting, blocked_postal_code_prefixes: { US: ['902'] } }, { reason: 'postal_code_blocked' }],
    ['SEK only', { ...fitting, purchase_currency: 'SEK' }, { reason: 'currency_mismatch' }],
    ['a minimum of 50001', { ...fitting, min_order_amount: 50001 }, { reason: 'below_min_amount' }],
    ['a maximum of 49999', { ...fitting, max_order_amount: 49999 }, { reason: 'above_max_amount' }],
    ['at most 4 per line', { ...fitting, max_quantity_per_line: 4 }, { reason: 'quantity_exceeded', line: 0 }],
    ['the T-shirt denied', { ...fitting, denied_references: ['19-402-USA'] }, { reason: 'denied_reference', line: 0 }],
    ['organizations only', { ...fitting, allowed_customer_types: ['organization'] }, { reason: 'customer_type_not_allowed' }],
    ["the merchant's cart at 44800", { ...fitting, expected_order_amount: 44800 }, { reason: 'expected_amount_mismatch' }],
  ])('is denied under rules with %s', (_name, rules, denial) => {
    expect(validateOrder(order, rules)).toEqual({ approve: false, ...denial });
  });

  it('is denied with a 303 to the deny page when one is configured', () => {
    const rules = { ...fitting, expected_order_amount: 44800, deny_redirect_url: 'https://shop.example/denied' };
    const verdict = validateOrder(order, rules);
    expect(verdict.approve).toBe(false);
    if (verdict.approve) return;
    expect(denyPurchase(verdict.reason, 'f3392f8b-6116-4073-ab96-e330819e2c07', rules).headers).toEqual({
      location: 'https://shop.example/denied?reason=expected_amount_mismatch&order_id=f3392f8b-6116-4073-ab96-e330819e2c07',
      'cache-control': 'no-store',
    });
  });
});
