import { checkOrderAgainstRules, orderToCompare } from '../../functions/orders/order-check.js';
import type { OmOrder } from '../../functions/orders/order.js';
import type { ExpectedOrderLine, MerchantRules, RulesLookup } from '../../functions/kco/rules.js';
import { vatRules } from '../support/orders.js';

const orderId = 'f3a8c2d1-7b4e-4c1a-9d2e-5a6b7c8d9e0f';

/** What the shop wrote into the order scope when it created the order: two T-shirts, a mug. */
const agreed: ExpectedOrderLine[] = [
  { reference: 'TSHIRT-1', quantity: 2, total_amount: 25000 },
  { reference: 'MUG-1', quantity: 1, total_amount: 9900, unit_price: 9900 },
];

/** Order Management's order for that cart, with the shipping line our rules priced. */
const omOrder = (overrides: Partial<OmOrder> = {}): OmOrder => ({
  order_id: orderId,
  order_amount: 25000 + 9900 + 4900,
  purchase_currency: 'SEK',
  order_lines: [
    { type: 'physical', reference: 'TSHIRT-1', name: 'T-shirt', quantity: 2, unit_price: 12500, tax_rate: 2500, total_amount: 25000, total_discount_amount: 0, total_tax_amount: 5000 },
    { type: 'physical', reference: 'MUG-1', name: 'Mug', quantity: 1, unit_price: 9900, tax_rate: 2500, total_amount: 9900, total_discount_amount: 0, total_tax_amount: 1980 },
    { type: 'shipping_fee', reference: 'standard', name: 'Standard delivery', quantity: 1, unit_price: 4900, tax_rate: 2500, total_amount: 4900, total_tax_amount: 980 },
  ],
  ...overrides,
});

const found = (rules: MerchantRules, scopesFound = ['default', `order#${orderId}`]): RulesLookup => ({ status: 'ok', rules, scopesFound });

describe('orderToCompare: Order Management’s order in the shape validation compares', () => {
  it('fills what Order Management leaves out the way Klarna defines it: one piece at its total, no discount, no tax', () => {
    const compared = orderToCompare({ order_id: orderId, order_amount: 1500, purchase_currency: 'sek', order_lines: [{ total_amount: 1500 }] });
    expect(compared).toStrictEqual({
      order_amount: 1500,
      purchase_currency: 'sek',
      order_lines: [{ name: '', quantity: 1, unit_price: 1500, tax_rate: 0, total_amount: 1500, total_discount_amount: 0, total_tax_amount: 0 }],
    });
  });

  it('keeps every field Order Management gives, and Klarna’s discount lines', () => {
    const order = omOrder({ discount_lines: [{ total_amount: -2000 }] });
    expect(orderToCompare(order)).toStrictEqual({
      order_amount: order.order_amount,
      purchase_currency: 'SEK',
      order_lines: order.order_lines.map((line) => ({ total_discount_amount: 0, ...line })),
      discount_lines: [{ total_amount: -2000 }],
    });
  });

  it('leaves out a line type Klarna does not document and an empty or null reference, rather than carry them as given', () => {
    const [line] = orderToCompare(
      omOrder({ order_lines: [{ type: 'bundle', reference: null, name: 'Box', quantity: 3, unit_price: 100, total_amount: 300 }] }),
    ).order_lines;
    expect(line).toStrictEqual({ name: 'Box', quantity: 3, unit_price: 100, tax_rate: 0, total_amount: 300, total_discount_amount: 0, total_tax_amount: 0 });
    expect(Object.keys(orderToCompare(omOrder({ order_lines: [{ reference: '', total_amount: 300 }] })).order_lines[0]!)).not.toContain('reference');
  });
});

describe('checkOrderAgainstRules: the order Klarna placed against that order’s rules', () => {
  const rules = vatRules({ purchase_currency: 'SEK', expected_order_amount: 25000 + 9900 + 4900, expected_order_lines: agreed });

  it('passes the order the shop agreed to, the shipping line our rules computed beside it', () => {
    expect(checkOrderAgainstRules(orderId, omOrder(), found(rules))).toEqual({ ok: true });
  });

  it('decides nothing while the rules cannot be read, and refuses when they are broken or say nothing (fails closed)', () => {
    expect(checkOrderAgainstRules(orderId, omOrder(), { status: 'unavailable' })).toBe('unavailable');
    expect(checkOrderAgainstRules(orderId, omOrder(), { status: 'invalid', issues: [{ scope: 'default', path: 'tax', message: 'bad' }] })).toEqual({
      ok: false,
      reason: 'rules_invalid',
    });
    expect(checkOrderAgainstRules(orderId, omOrder(), { status: 'missing' })).toEqual({ ok: false, reason: 'rules_missing' });
  });

  it('refuses an order the shop never announced when its store requires an order scope: only this order’s scope counts', () => {
    const strict = { ...rules, require_order_scope: true };
    expect(checkOrderAgainstRules(orderId, omOrder(), found(strict))).toEqual({ ok: true });
    expect(checkOrderAgainstRules(orderId, omOrder(), found(strict, ['default']))).toEqual({ ok: false, reason: 'order_unknown' });
    expect(checkOrderAgainstRules(orderId, omOrder(), found(strict, ['default', 'order#another-order']))).toEqual({ ok: false, reason: 'order_unknown' });
    expect(checkOrderAgainstRules(orderId, omOrder(), found(rules, ['default']))).toEqual({ ok: true });
  });

  it('refuses another currency, another total and another cart, naming the line', () => {
    expect(checkOrderAgainstRules(orderId, omOrder({ purchase_currency: 'EUR' }), found(rules))).toEqual({ ok: false, reason: 'currency_mismatch' });
    expect(checkOrderAgainstRules(orderId, omOrder({ order_amount: 39801 }), found(rules))).toEqual({ ok: false, reason: 'expected_amount_mismatch' });
    const [tshirt, mug, shipping] = omOrder().order_lines;
    const hoodie = { ...tshirt!, reference: 'HOODIE-1', name: 'Hoodie' };
    expect(checkOrderAgainstRules(orderId, omOrder({ order_lines: [hoodie, mug!, shipping!] }), found(rules))).toEqual({
      ok: false,
      reason: 'cart_mismatch',
      line: 0,
    });
  });

  it('compares the total before Klarna’s own discounts', () => {
    const discounted = omOrder({ order_amount: 39800 - 2000, discount_lines: [{ total_amount: -2000 }] });
    expect(checkOrderAgainstRules(orderId, discounted, found(rules))).toEqual({ ok: true });
    expect(checkOrderAgainstRules(orderId, { ...discounted, discount_lines: [] }, found(rules))).toEqual({ ok: false, reason: 'expected_amount_mismatch' });
  });

  it('reads a line without unit_price at its total and without a discount as undiscounted, where the shop named the price', () => {
    const [tshirt, mug, shipping] = omOrder().order_lines;
    const bare = { type: mug!.type, reference: mug!.reference, total_amount: 9900 };
    expect(checkOrderAgainstRules(orderId, omOrder({ order_lines: [tshirt!, bare, shipping!] }), found(rules))).toEqual({ ok: true });
    const discountedElsewhere = { ...bare, unit_price: 12900, total_discount_amount: 3000 };
    expect(checkOrderAgainstRules(orderId, omOrder({ order_lines: [tshirt!, discountedElsewhere, shipping!] }), found(rules))).toEqual({
      ok: false,
      reason: 'cart_mismatch',
      line: 1,
    });
  });

  it('checks a shipping line like any other when the rules do not price shipping, by its type alone', () => {
    const noShipping = { ...rules, shipping_options: [] };
    expect(checkOrderAgainstRules(orderId, omOrder(), found(noShipping))).toEqual({ ok: false, reason: 'cart_mismatch', line: 2 });
    const [tshirt, mug, shipping] = omOrder().order_lines;
    const untyped = { ...shipping!, type: 'freight' };
    expect(checkOrderAgainstRules(orderId, omOrder({ order_lines: [tshirt!, mug!, untyped] }), found(rules))).toEqual({
      ok: false,
      reason: 'cart_mismatch',
      line: 2,
    });
  });
});
