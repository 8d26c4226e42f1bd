import {
  approved,
  defaultErrorTexts,
  denyPurchase,
  errorText,
  errorTypeFor,
  refuseUpdate,
  rejected,
  tooLarge,
  TOO_LARGE_TEXT,
  updated,
  type HttpAnswer,
} from '../../functions/kco/answer.js';
import { addressUpdate, countryChange, shippingOptionUpdate, validation, type Outcome } from '../../functions/kco/callbacks.js';
import { reasonCodes, type MerchantRules, type ReasonCode } from '../../functions/kco/rules.js';
import { callbackRequest, line, orderFromPriced, priced, seAddress, vatRules } from '../support/orders.js';

const json = (answer: HttpAnswer): unknown => JSON.parse(answer.body);

describe('errorTypeFor', () => {
  it.each<[ReasonCode, string]>([
    ['po_box', 'address_error'],
    ['billing_country_not_allowed', 'address_error'],
    ['address_missing', 'address_error'],
    ['shipping_country_not_allowed', 'unsupported_shipping_address'],
    ['postal_code_blocked', 'unsupported_shipping_address'],
    ['no_shipping_option', 'unsupported_shipping_address'],
    ['shipping_option_not_offered', 'unsupported_shipping_address'],
    ['no_tax_rate', 'unsupported_shipping_address'],
    ['currency_mismatch', 'approval_failed'],
    ['line_total_mismatch', 'approval_failed'],
    ['rules_invalid', 'approval_failed'],
    ['internal_error', 'approval_failed'],
  ])('maps %s to %s', (reason, type) => {
    expect(errorTypeFor(reason)).toBe(type);
  });

  it('maps every other reason to approval_failed', () => {
    const addressLike = new Set(['po_box', 'parcel_locker', 'billing_country_not_allowed', 'address_missing']);
    const unsupported = new Set(['shipping_country_not_allowed', 'postal_code_blocked', 'no_shipping_option', 'shipping_option_not_offered', 'no_tax_rate']);
    for (const reason of reasonCodes) {
      const expected = addressLike.has(reason) ? 'address_error' : unsupported.has(reason) ? 'unsupported_shipping_address' : 'approval_failed';
      expect([reason, errorTypeFor(reason)]).toEqual([reason, expected]);
    }
  });
});

describe('errorText', () => {
  it('has a shopper-facing default for every reason code', () => {
    for (const reason of reasonCodes) {
      expect([reason, defaultErrorTexts[reason].length > 10]).toEqual([reason, true]);
    }
  });

  it('takes the merchant’s text for a reason when the rules set one, the default otherwise', () => {
    const rules: MerchantRules = { error_texts: { po_box: 'No PO boxes, sorry.' } };
    expect(errorText('po_box', rules)).toBe('No PO boxes, sorry.');
    expect(errorText('postal_code_blocked', rules)).toBe(defaultErrorTexts.postal_code_blocked);
    expect(errorText('po_box', undefined)).toBe('We cannot deliver to a post-office box. Please enter a street address.');
  });
});

describe('updated / approved / rejected', () => {
  it('answers 200 with the body as JSON', () => {
    const body = { order_amount: 100, order_tax_amount: 20, order_lines: [line({ quantity: 1, unit_price: 100 })], purchase_currency: 'SEK' };
    const answer = updated(body);
    expect(answer.statusCode).toBe(200);
    expect(answer.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(json(answer)).toEqual(body);
  });

  it('approves with 200 and an empty body', () => {
    expect(approved()).toEqual({ statusCode: 200, headers: { 'cache-control': 'no-store' }, body: '' });
  });

  it('rejects with 400 and exactly error_type and error_text, as uncached JSON', () => {
    const answer = rejected('address_error', 'Please enter your address.');
    expect(answer.statusCode).toBe(400);
    expect(answer.headers).toEqual({ 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
    expect(json(answer)).toEqual({ error_type: 'address_error', error_text: 'Please enter your address.' });
  });
});

describe('tooLarge', () => {
  it('answers a body over the size limit with the generic 400 approval_failed, no byte counts', () => {
    const answer = tooLarge();
    expect(answer.statusCode).toBe(400);
    expect(json(answer)).toEqual({ error_type: 'approval_failed', error_text: TOO_LARGE_TEXT });
    expect(TOO_LARGE_TEXT).not.toMatch(/\d/);
  });
});

describe('refuseUpdate', () => {
  it('answers 400 unsupported_shipping_address for a blocked postal prefix, with the merchant’s text', () => {
    const answer = refuseUpdate('postal_code_blocked', { error_texts: { postal_code_blocked: 'Not to this postal code.' } });
    expect(answer.statusCode).toBe(400);
    expect(json(answer)).toEqual({ error_type: 'unsupported_shipping_address', error_text: 'Not to this postal code.' });
  });

  it('answers 400 address_error for a PO box with the default text when rules are unreadable', () => {
    expect(json(refuseUpdate('po_box', undefined))).toEqual({
      error_type: 'address_error',
      error_text: 'We cannot deliver to a post-office box. Please enter a street address.',
    });
  });
});

describe('denyPurchase', () => {
  it('redirects 303 to the deny page with reason and order id in the query', () => {
    const answer = denyPurchase('tax_mismatch', 'abc-123', { deny_redirect_url: 'https://shop.example/checkout/denied' });
    expect(answer).toEqual({
      statusCode: 303,
      headers: { location: 'https://shop.example/checkout/denied?reason=tax_mismatch&order_id=abc-123', 'cache-control': 'no-store' },
      body: '',
    });
  });

  it('URL-encodes the order id in the Location', () => {
    const answer = denyPurchase('po_box', 'a b&c=d/é?#', { deny_redirect_url: 'https://shop.example/denied' });
    expect(answer.headers.location).toBe('https://shop.example/denied?reason=po_box&order_id=a%20b%26c%3Dd%2F%C3%A9%3F%23');
    expect(new URL(answer.headers.location!).searchParams.get('order_id')).toBe('a b&c=d/é?#');
  });

  it('answers 400 approval_failed with the shopper text when no redirect is configured', () => {
    const answer = denyPurchase('below_min_amount', 'abc-123', {});
    expect(answer.statusCode).toBe(400);
    expect(answer.headers.location).toBeUndefined();
    expect(json(answer)).toEqual({ error_type: 'approval_failed', error_text: 'Your order is below the minimum order amount.' });
  });

  it('uses approval_failed even for address reasons, with the merchant’s text', () => {
    const answer = denyPurchase('po_box', 'abc-123', { error_texts: { po_box: 'No PO boxes.' } });
    expect(json(answer)).toEqual({ error_type: 'approval_failed', error_text: 'No PO boxes.' });
  });

  it('answers 400 with the default text when the rules are unreadable', () => {
    expect(json(denyPurchase('rules_invalid', 'abc-123', undefined))).toEqual({
      error_type: 'approval_failed',
      error_text: 'We could not update your order just now. Please try again in a moment.',
    });
  });
});

describe('answers never quote the request', () => {
  const marker = 'QZX';
  const hostile = seAddress({
    street_address: `PO Box 12 ${marker}1`,
    street_address2: `${marker}2`,
    postal_code: `981 ${marker}3`,
    city: `<script>${marker}4</script>`,
    country: 'SE',
  });
  const lines = [line({ reference: `${marker}5`, name: `${marker}6`, merchant_data: `${marker}7` })];

  const updateOutcomes: [string, Outcome, MerchantRules][] = [
    ['po_box', addressUpdate(callbackRequest({ order_lines: lines, shipping_address: hostile }), vatRules({ block_po_boxes: true })), vatRules()],
    [
      'postal_code_blocked',
      addressUpdate(callbackRequest({ order_lines: lines, shipping_address: hostile }), vatRules({ blocked_postal_code_prefixes: { SE: ['981'] } })),
      vatRules(),
    ],
    ['billing', countryChange(callbackRequest({ order_lines: lines, billing_address: { ...hostile, country: 'NO' } }), vatRules({ billing_countries: ['SE'] })), vatRules()],
    ['option', shippingOptionUpdate(callbackRequest({ order_lines: lines, selected_shipping_option: { id: `${marker}8` } }), vatRules()), vatRules()],
    ['line', addressUpdate(callbackRequest({ order_lines: [{ ...lines[0]!, total_amount: 1 }] }), vatRules()), vatRules()],
  ];

  it.each(updateOutcomes)('in the 400 of an update refused for %s', (_name, outcome, rules) => {
    expect(outcome.kind).toBe('refuse');
    if (outcome.kind !== 'refuse') return;
    const answer = refuseUpdate(outcome.reason, rules);
    expect(answer.statusCode).toBe(400);
    expect(answer.body).not.toContain(marker);
  });

  it('in the deny of a validation', () => {
    const order = orderFromPriced(priced({ order_lines: lines, shipping_address: seAddress() }, vatRules()), { shipping_address: hostile });
    const outcome = validation(order, vatRules({ block_po_boxes: true }));
    expect(outcome).toEqual({ kind: 'deny', reason: 'po_box' });
    if (outcome.kind !== 'deny') return;
    expect(denyPurchase(outcome.reason, 'order-1', vatRules()).body).not.toContain(marker);
    expect(denyPurchase(outcome.reason, 'order-1', vatRules({ deny_redirect_url: 'https://shop.example/denied' })).headers.location).not.toContain(marker);
  });
});
