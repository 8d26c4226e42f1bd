import { validateOrder } from '../../functions/kco/checks.js';
import { cartDifference, checkExpectedOrder } from '../../functions/kco/expected-order.js';
import type { ValidationOrder } from '../../functions/kco/order.js';
import type { ExpectedOrderLine, MerchantRules } from '../../functions/kco/rules.js';
import { discountLine, line, orderFromPriced, priced, seAddress, vatRules } from '../support/orders.js';

const tshirt = line({ reference: 'TSHIRT-1', quantity: 2, unit_price: 12500 }); // 25000
const mug = line({ reference: 'MUG-1', name: 'Mug', quantity: 1, unit_price: 9900 }); // 9900

/** What the shop writes into the order scope when it creates the Klarna order. */
const agreed: ExpectedOrderLine[] = [
  { reference: 'TSHIRT-1', quantity: 2, total_amount: 25000 },
  { reference: 'MUG-1', quantity: 1, total_amount: 9900, unit_price: 9900 },
];

const orderOf = (lines = [tshirt, mug], rules: MerchantRules = vatRules()): ValidationOrder =>
  orderFromPriced(priced({ order_lines: lines, shipping_address: seAddress() }, rules), { shipping_address: seAddress() });

describe('the whole cart, per order (expected_order_lines)', () => {
  const rules = vatRules({ expected_order_lines: agreed, expected_order_amount: 34900 + 4900 });

  it('approves the cart the shop agreed to, in any order, with our shipping line beside it', () => {
    expect(validateOrder(orderOf([tshirt, mug], rules), rules)).toEqual({ approve: true });
    expect(validateOrder(orderOf([mug, tshirt], rules), rules)).toEqual({ approve: true });
  });

  it('denies the same total reached with other goods and a discount of the same size', () => {
    // 25000 + 9900 = 34900, and 30000 + 9900 − 5000 = 34900: same total, other cart.
    const other = line({ reference: 'JACKET-1', name: 'Jacket', quantity: 1, unit_price: 30000 });
    const swapped = orderOf([other, mug, discountLine(5000)], rules);
    expect(swapped.order_amount).toBe(orderOf([tshirt, mug], rules).order_amount);
    expect(validateOrder(swapped, rules)).toEqual({ approve: false, reason: 'cart_mismatch', line: 0 });
  });

  it('denies another article at the same quantity and total (the reference counts)', () => {
    const hoodie = line({ reference: 'HOODIE-1', name: 'Hoodie', quantity: 2, unit_price: 12500 }); // 25000, like the T-shirts
    expect(validateOrder(orderOf([hoodie, mug], rules), rules)).toEqual({ approve: false, reason: 'cart_mismatch', line: 0 });
    expect(cartDifference([mug, hoodie], agreed, {})).toBe(1);
  });

  it('denies another quantity whose line discount keeps the total', () => {
    const three = line({ reference: 'TSHIRT-1', quantity: 3, unit_price: 12500, total_discount_amount: 12500 }); // 25000
    expect(validateOrder(orderOf([three, mug], rules), rules)).toEqual({ approve: false, reason: 'cart_mismatch', line: 0 });
  });

  it('denies a line the shop named a price for, at another price with the same total', () => {
    const discounted = line({ reference: 'MUG-1', name: 'Mug', quantity: 1, unit_price: 12900, total_discount_amount: 3000 }); // 9900
    expect(validateOrder(orderOf([tshirt, discounted], rules), rules)).toEqual({ approve: false, reason: 'cart_mismatch', line: 1 });
  });

  it('denies an extra line, and a missing one (which has no index to log)', () => {
    const extra = line({ reference: 'MUG-1', name: 'Mug', quantity: 1, unit_price: 9900 });
    const withExtra = vatRules({ expected_order_lines: agreed });
    expect(validateOrder(orderOf([tshirt, mug, extra], withExtra), withExtra)).toEqual({ approve: false, reason: 'cart_mismatch', line: 2 });
    expect(validateOrder(orderOf([tshirt], withExtra), withExtra)).toEqual({ approve: false, reason: 'cart_mismatch' });
  });

  it('counts a repeated line as many times as it is expected (a multiset, not a set)', () => {
    const twice = [...agreed, { reference: 'MUG-1', quantity: 1, total_amount: 9900 }];
    const r = vatRules({ expected_order_lines: twice });
    expect(validateOrder(orderOf([tshirt, mug, mug], r), r)).toEqual({ approve: true });
    expect(validateOrder(orderOf([tshirt, mug], r), r)).toEqual({ approve: false, reason: 'cart_mismatch' });
  });

  it('gives a stricter expectation the line it needs before a looser one takes it', () => {
    const cheap = line({ reference: 'MUG-1', name: 'Mug', quantity: 1, unit_price: 9900 });
    const reduced = line({ reference: 'MUG-1', name: 'Mug', quantity: 1, unit_price: 10900, total_discount_amount: 1000 });
    const expected: ExpectedOrderLine[] = [
      { reference: 'MUG-1', quantity: 1, total_amount: 9900 },
      { reference: 'MUG-1', quantity: 1, total_amount: 9900, total_discount_amount: 1000 },
    ];
    expect(cartDifference([cheap, reduced], expected, {})).toBeUndefined();
    expect(cartDifference([reduced, cheap], expected, {})).toBeUndefined();
    expect(cartDifference([cheap, cheap], expected, {})).toBe(1);
  });

  it('leaves out only the lines the rules compute: a merchant-priced shipping line is part of the cart', () => {
    const ownShipping = line({ type: 'shipping_fee', reference: 'ship', name: 'Shipping', quantity: 1, unit_price: 4900 });
    expect(cartDifference([tshirt, ownShipping], [agreed[0]!], vatRules())).toBeUndefined();
    expect(cartDifference([tshirt, ownShipping], [agreed[0]!], {})).toBe(1);
  });
});

describe('checkExpectedOrder', () => {
  const order = { order_amount: 47500, purchase_currency: 'usd', order_lines: [line({ reference: 'T', quantity: 5, unit_price: 10000 })] };

  it('compares the currency upper-cased, the total before Klarna discounts and the lines', () => {
    const discounts = [{ total_amount: -2500 }];
    expect(checkExpectedOrder({ ...order, discount_lines: discounts }, { purchase_currency: 'USD', expected_order_amount: 50000 })).toEqual({ ok: true });
    expect(checkExpectedOrder({ ...order, discount_lines: discounts }, { expected_order_amount: 47500 })).toEqual({ ok: false, reason: 'expected_amount_mismatch' });
    expect(checkExpectedOrder(order, { purchase_currency: 'EUR' })).toEqual({ ok: false, reason: 'currency_mismatch' });
    expect(checkExpectedOrder(order, { expected_order_lines: [{ reference: 'T', quantity: 4, total_amount: 40000 }] })).toEqual({
      ok: false,
      reason: 'cart_mismatch',
      line: 0,
    });
    expect(checkExpectedOrder(order, {})).toEqual({ ok: true });
  });
});

describe('an order that buys nothing', () => {
  it('is denied (empty_order), never approved at 0, when its only line is a shopper-sent fee', () => {
    const fee = line({ type: 'shipping_fee', reference: 'standard', name: 'Shipping', quantity: 1, unit_price: 0, tax_rate: 0 });
    const order: ValidationOrder = { order_amount: 0, order_tax_amount: 0, order_lines: [fee], purchase_currency: 'SEK', shipping_address: seAddress(), billing_address: seAddress() };
    expect(validateOrder(order, vatRules())).toEqual({ approve: false, reason: 'empty_order' });
    expect(validateOrder({ ...order, order_lines: [] }, {})).toEqual({ approve: false, reason: 'empty_order' });
  });
});
