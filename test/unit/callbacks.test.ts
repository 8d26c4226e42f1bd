import { denyPurchase, refuseUpdate, updated, type HttpAnswer } from '../../functions/kco/answer.js';
import { addressUpdate, countryChange, shippingOptionUpdate, validation, type Outcome } from '../../functions/kco/callbacks.js';
import type { UpdateResponse } from '../../functions/kco/order.js';
import type { MerchantRules } from '../../functions/kco/rules.js';
import {
  callbackRequest,
  deAddress,
  line,
  orderFromPriced,
  priced,
  salesTaxRules,
  seAddress,
  shippingFeeLine,
  usAddress,
  vatRules,
} from '../support/orders.js';
import { klarnaViolations } from '../support/klarna-checks.js';

const tshirt = line({ reference: 'TSHIRT-1', quantity: 2, unit_price: 12500, tax_rate: 0, total_tax_amount: 0 }); // as the shop created it
const coffee = line({ reference: 'FOOD-1', name: 'Coffee', quantity: 1, unit_price: 11200, tax_rate: 0, total_tax_amount: 0 });

const bodyOf = (outcome: Outcome): UpdateResponse => {
  if (outcome.kind !== 'update') throw new Error(`expected an update, got ${JSON.stringify(outcome)}`);
  return outcome.body;
};

describe('addressUpdate', () => {
  it('answers the repriced order: amounts, lines, currency and options, nothing else', () => {
    const body = bodyOf(addressUpdate(callbackRequest({ order_lines: [tshirt, coffee] }), vatRules()));
    expect(Object.keys(body).sort()).toEqual(['order_amount', 'order_lines', 'order_tax_amount', 'purchase_currency', 'shipping_options']);
    expect(body.order_amount).toBe(41100);
    expect(body.order_tax_amount).toBe(7180);
    expect(body.purchase_currency).toBe('SEK');
    expect(body.order_lines.map((l) => [l.type, l.reference, l.total_amount, l.tax_rate, l.total_tax_amount])).toEqual([
      ['physical', 'TSHIRT-1', 25000, 2500, 5000],
      ['physical', 'FOOD-1', 11200, 1200, 1200],
      ['shipping_fee', 'standard', 4900, 2500, 980],
    ]);
    expect(body.shipping_options?.map((o) => [o.id, o.price, o.preselected])).toEqual([
      ['standard', 4900, true],
      ['express', 9900, false],
      ['pickup', 2900, false],
    ]);
    expect(klarnaViolations(body)).toEqual([]);
  });

  it('reprices for the new address: Germany at 19% without the Sweden-only option', () => {
    const body = bodyOf(addressUpdate(callbackRequest({ order_lines: [tshirt], shipping_address: deAddress() }), vatRules()));
    expect([body.order_amount, body.order_tax_amount]).toEqual([29900, 3992 + 782]);
    expect(body.shipping_options?.map((o) => o.id)).toEqual(['standard', 'express']);
  });

  it('keeps the shopper’s selected option when still offered', () => {
    const request = callbackRequest({ order_lines: [tshirt], selected_shipping_option: { id: 'express' } });
    const body = bodyOf(addressUpdate(request, vatRules()));
    expect(body.shipping_options?.find((o) => o.preselected)?.id).toBe('express');
    expect(body.order_amount).toBe(25000 + 9900);
  });

  it('switches to the preselected option when the selected one is not offered at the new address', () => {
    const request = callbackRequest({ order_lines: [tshirt], shipping_address: deAddress(), selected_shipping_option: { id: 'pickup' } });
    expect(bodyOf(addressUpdate(request, vatRules())).shipping_options?.find((o) => o.preselected)?.id).toBe('standard');
  });

  it('ignores the price Klarna sends for the selected option and the shop’s fee line', () => {
    const request = callbackRequest({
      order_lines: [tshirt, shippingFeeLine(1)],
      selected_shipping_option: { id: 'standard', price: 1, tax_amount: 0, tax_rate: 0 },
    });
    const body = bodyOf(addressUpdate(request, vatRules()));
    expect(body.order_lines.filter((l) => l.type === 'shipping_fee').map((l) => l.total_amount)).toEqual([4900]);
  });

  it.each([
    ['exactly 1024 characters', 1024, true],
    ['1025 characters', 1025, false],
  ])('echoes merchant_data of %s: %s', (_name, length, echoed) => {
    const merchantData = 'm'.repeat(length);
    const body = bodyOf(addressUpdate(callbackRequest({ merchant_data: merchantData }), vatRules()));
    expect(body.merchant_data).toBe(echoed ? merchantData : undefined);
    expect('merchant_data' in body).toBe(echoed);
  });

  it('answers sales-tax orders with the Sales Tax line in order_tax_amount', () => {
    const request = callbackRequest({
      order_lines: [line({ reference: 'MUG', quantity: 2, unit_price: 5000, tax_rate: 0 })],
      shipping_address: usAddress(),
      billing_address: usAddress(),
      purchase_currency: 'USD',
      selected_shipping_option: { id: 'express' },
    });
    const body = bodyOf(addressUpdate(request, salesTaxRules()));
    expect(body.order_lines.map((l) => [l.type, l.name, l.total_amount])).toEqual([
      ['physical', 'T-shirt', 10000],
      ['shipping_fee', 'Express shipping', 1499],
      ['sales_tax', 'Sales Tax', 725],
    ]);
    expect([body.order_amount, body.order_tax_amount]).toEqual([12224, 725]);
  });

  it('uses the billing address when there is no shipping address', () => {
    const { shipping_address: _dropped, ...request } = callbackRequest({ billing_address: deAddress() });
    const body = bodyOf(addressUpdate(request, vatRules()));
    expect(body.order_lines[0]?.tax_rate).toBe(1900);
  });

  it.each([
    ['shipping_country_not_allowed', vatRules({ shipping_countries: ['DE'] }), seAddress()],
    ['postal_code_blocked', vatRules({ blocked_postal_code_prefixes: { SE: ['113'] } }), seAddress()],
    ['po_box', vatRules({ block_po_boxes: true }), seAddress({ street_address: 'P.O. Box 12' })],
    ['no_tax_rate', vatRules(), seAddress({ country: 'FI' })],
    ['no_shipping_option', vatRules({ shipping_options: [{ id: 'x', name: 'X', price: 1, tax_rate: 0, countries: ['DE'] }] }), seAddress()],
  ] as const)('refuses with %s', (reason, rules, address) => {
    expect(addressUpdate(callbackRequest({ shipping_address: address }), rules)).toEqual({ kind: 'refuse', reason });
  });

  it('refuses an order in another currency than the rules’', () => {
    expect(addressUpdate(callbackRequest({ purchase_currency: 'EUR' }), vatRules({ purchase_currency: 'SEK' }))).toEqual({
      kind: 'refuse',
      reason: 'currency_mismatch',
    });
  });

  it('refuses a line that does not add up, naming the line', () => {
    const bad = { ...line(), total_amount: 1 };
    expect(addressUpdate(callbackRequest({ order_lines: [tshirt, bad] }), vatRules())).toEqual({ kind: 'refuse', reason: 'line_total_mismatch', line: 1 });
  });

  it('does not mind the placeholder totals Klarna sends (it recomputes them)', () => {
    const body = bodyOf(addressUpdate({ ...callbackRequest({ order_lines: [tshirt] }), order_amount: 0, order_tax_amount: 0 }, vatRules()));
    expect(body.order_amount).toBe(29900);
  });
});

describe('countryChange', () => {
  it('refuses a billing country outside billing_countries', () => {
    const request = callbackRequest({ billing_address: deAddress() });
    expect(countryChange(request, vatRules({ billing_countries: ['SE'] }))).toEqual({ kind: 'refuse', reason: 'billing_country_not_allowed' });
  });

  it('refuses a request without a billing address', () => {
    const { billing_address: _dropped, ...request } = callbackRequest();
    expect(countryChange(request, vatRules())).toEqual({ kind: 'refuse', reason: 'address_missing' });
  });

  it('recomputes like address_update once the billing country is allowed', () => {
    const request = callbackRequest({ order_lines: [tshirt, coffee], billing_address: deAddress(), shipping_address: deAddress() });
    const rules = vatRules({ billing_countries: ['SE', 'DE'] });
    expect(countryChange(request, rules)).toEqual(addressUpdate(request, rules));
    expect(bodyOf(countryChange(request, rules)).order_tax_amount).toBe(3992 + 1788 + 782);
  });

  it('refuses another currency before it looks at the billing country', () => {
    const request = callbackRequest({ purchase_currency: 'NOK', billing_address: deAddress() });
    expect(countryChange(request, vatRules({ purchase_currency: 'SEK', billing_countries: ['SE'] }))).toStrictEqual({ kind: 'refuse', reason: 'currency_mismatch' });
  });

  it('still applies the shipping rules', () => {
    const request = callbackRequest({ billing_address: seAddress(), shipping_address: deAddress() });
    expect(countryChange(request, vatRules({ shipping_countries: ['SE'] }))).toEqual({ kind: 'refuse', reason: 'shipping_country_not_allowed' });
  });
});

describe('shippingOptionUpdate', () => {
  it('sets the fee line from the rules for the selected option and recomputes the totals', () => {
    const request = callbackRequest({ order_lines: [tshirt, shippingFeeLine(4900)], selected_shipping_option: { id: 'pickup', price: 0 } });
    const body = bodyOf(shippingOptionUpdate(request, vatRules()));
    expect(body.order_lines.filter((l) => l.type === 'shipping_fee')).toEqual([
      { type: 'shipping_fee', reference: 'pickup', name: 'Pickup point', quantity: 1, unit_price: 2900, tax_rate: 2500, total_amount: 2900, total_discount_amount: 0, total_tax_amount: 580 },
    ]);
    expect([body.order_amount, body.order_tax_amount]).toEqual([27900, 5580]);
    expect(body.shipping_options?.find((o) => o.preselected)?.id).toBe('pickup');
  });

  it('refuses an option not offered at the address', () => {
    const request = callbackRequest({ shipping_address: deAddress(), selected_shipping_option: { id: 'pickup' } });
    expect(shippingOptionUpdate(request, vatRules())).toEqual({ kind: 'refuse', reason: 'shipping_option_not_offered' });
  });

  it('refuses an option the rules do not know', () => {
    expect(shippingOptionUpdate(callbackRequest({ selected_shipping_option: { id: 'teleport' } }), vatRules())).toEqual({
      kind: 'refuse',
      reason: 'shipping_option_not_offered',
    });
  });

  it('refuses a request without a selected option, saying that none was selected', () => {
    expect(shippingOptionUpdate(callbackRequest(), vatRules())).toEqual({ kind: 'refuse', reason: 'no_shipping_option_selected' });
  });

  it('refuses a request without a selected option even when nothing ships (a digital-only order)', () => {
    const ebook = line({ type: 'digital', reference: 'EBOOK', quantity: 1, unit_price: 9900, tax_rate: 0, total_tax_amount: 0 });
    expect(shippingOptionUpdate(callbackRequest({ order_lines: [ebook] }), vatRules())).toEqual({ kind: 'refuse', reason: 'no_shipping_option_selected' });
  });

  it('names the line of a refusal that has one, and adds no line key to one that has none', () => {
    const bad = { ...line({ reference: 'BAD' }), total_amount: 1 };
    const withLine = shippingOptionUpdate(callbackRequest({ order_lines: [tshirt, bad], selected_shipping_option: { id: 'standard' } }), vatRules());
    expect(withLine).toStrictEqual({ kind: 'refuse', reason: 'line_total_mismatch', line: 1 });
    const withoutLine = shippingOptionUpdate(callbackRequest({ shipping_address: deAddress(), selected_shipping_option: { id: 'pickup' } }), vatRules());
    expect(Object.keys(withoutLine)).toEqual(['kind', 'reason']);
  });

  it('checks the shipping address first', () => {
    const request = callbackRequest({ shipping_address: seAddress({ street_address: 'Postfach 1234' }), selected_shipping_option: { id: 'standard' } });
    expect(shippingOptionUpdate(request, vatRules({ block_po_boxes: true }))).toEqual({ kind: 'refuse', reason: 'po_box' });
  });

  it('refuses another currency', () => {
    const request = callbackRequest({ purchase_currency: 'NOK', selected_shipping_option: { id: 'standard' } });
    expect(shippingOptionUpdate(request, vatRules({ purchase_currency: 'SEK' }))).toEqual({ kind: 'refuse', reason: 'currency_mismatch' });
  });
});

describe('validation', () => {
  const order = orderFromPriced(priced({ order_lines: [tshirt, coffee], shipping_address: seAddress() }, vatRules()));

  it('approves an order as we priced it', () => {
    expect(validation(order, vatRules())).toEqual({ kind: 'approve' });
  });

  it('denies with the reason, and no line key when no line is at fault', () => {
    expect(validation(order, vatRules({ max_order_amount: 100 }))).toStrictEqual({ kind: 'deny', reason: 'above_max_amount' });
  });

  it('denies with the reason and the line', () => {
    expect(validation(order, vatRules({ denied_references: ['FOOD-1'] }))).toEqual({ kind: 'deny', reason: 'denied_reference', line: 1 });
  });
});

/** What the handler sends for an outcome (kco-handler's mapping, reproduced for the pure tier). */
const answer = (outcome: Outcome, rules: MerchantRules, orderId = 'order-1'): HttpAnswer => {
  switch (outcome.kind) {
    case 'update':
      return updated(outcome.body);
    case 'refuse':
      return refuseUpdate(outcome.reason, rules);
    case 'deny':
      return denyPurchase(outcome.reason, orderId, rules);
    case 'approve':
      return { statusCode: 200, headers: {}, body: '' };
  }
};

describe('callback outcomes as Klarna answers', () => {
  it('answers 400 unsupported_shipping_address for a blocked postal prefix', () => {
    const rules = vatRules({ blocked_postal_code_prefixes: { SE: ['113'] } });
    const http = answer(addressUpdate(callbackRequest(), rules), rules);
    expect([http.statusCode, JSON.parse(http.body)]).toEqual([
      400,
      { error_type: 'unsupported_shipping_address', error_text: 'Unfortunately we do not deliver to this postal code.' },
    ]);
  });

  it('answers 400 unsupported_shipping_address for a country not shipped to', () => {
    const rules = vatRules({ shipping_countries: ['DE'] });
    expect(JSON.parse(answer(addressUpdate(callbackRequest(), rules), rules).body).error_type).toBe('unsupported_shipping_address');
  });

  it('answers 400 address_error for a PO box, with the merchant’s own text', () => {
    const rules = vatRules({ block_po_boxes: true, error_texts: { po_box: 'Please give a street address, not a box.' } });
    const http = answer(addressUpdate(callbackRequest({ shipping_address: seAddress({ street_address: 'Box 123' }) }), rules), rules);
    expect([http.statusCode, JSON.parse(http.body)]).toEqual([400, { error_type: 'address_error', error_text: 'Please give a street address, not a box.' }]);
  });

  it('answers 400 address_error when country_change brings a billing country not allowed', () => {
    const rules = vatRules({ billing_countries: ['SE'] });
    const http = answer(countryChange(callbackRequest({ billing_address: deAddress() }), rules), rules);
    expect([http.statusCode, JSON.parse(http.body)]).toEqual([
      400,
      { error_type: 'address_error', error_text: 'Unfortunately we cannot accept a billing address in this country.' },
    ]);
  });

  it('answers 400 unsupported_shipping_address when shipping_option_update selects an option not offered', () => {
    const rules = vatRules();
    const http = answer(shippingOptionUpdate(callbackRequest({ shipping_address: deAddress(), selected_shipping_option: { id: 'pickup' } }), rules), rules);
    expect(JSON.parse(http.body).error_type).toBe('unsupported_shipping_address');
  });

  it('answers 400 approval_failed for an update in a refused currency', () => {
    const rules = vatRules({ purchase_currency: 'SEK' });
    expect(JSON.parse(answer(addressUpdate(callbackRequest({ purchase_currency: 'EUR' }), rules), rules).body)).toEqual({
      error_type: 'approval_failed',
      error_text: 'This order cannot be completed in this currency.',
    });
  });

  it('answers 200 with the updated order as JSON', () => {
    const rules = vatRules();
    const http = answer(addressUpdate(callbackRequest({ merchant_data: 'cart-42' }), rules), rules);
    expect(http.statusCode).toBe(200);
    expect(JSON.parse(http.body)).toMatchObject({ order_amount: 29900, order_tax_amount: 5980, purchase_currency: 'SEK', merchant_data: 'cart-42' });
  });

  it('denies validation with a 303 to the deny page carrying reason and order id', () => {
    const rules = vatRules({ max_order_amount: 100, deny_redirect_url: 'https://shop.example/denied' });
    const order = orderFromPriced(priced({ order_lines: [tshirt], shipping_address: seAddress() }, rules));
    const http = answer(validation(order, rules), rules, 'f3392f8b 6116');
    expect(http.statusCode).toBe(303);
    expect(http.headers.location).toBe('https://shop.example/denied?reason=above_max_amount&order_id=f3392f8b%206116');
  });

  it('denies validation with 400 approval_failed when no deny page is configured', () => {
    const rules = vatRules({ max_order_amount: 100 });
    const order = orderFromPriced(priced({ order_lines: [tshirt], shipping_address: seAddress() }, rules));
    const http = answer(validation(order, rules), rules);
    expect([http.statusCode, JSON.parse(http.body)]).toEqual([400, { error_type: 'approval_failed', error_text: 'Your order is above the maximum order amount.' }]);
  });
});
