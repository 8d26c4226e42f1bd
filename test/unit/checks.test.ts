import { includedTax } from '../../functions/kco/money.js';
import type { OrderLine, ValidationOrder } from '../../functions/kco/order.js';
import type { MerchantRules } from '../../functions/kco/rules.js';
import { validateOrder } from '../../functions/kco/checks.js';
import {
  deAddress,
  discountLine,
  indexOfType,
  line,
  orderFromPriced,
  priced,
  salesTaxLine,
  salesTaxRules,
  seAddress,
  shippingFeeLine,
  totalsOf,
  usAddress,
  vatRules,
  withLine,
} from '../support/orders.js';

const tshirt = line({ reference: 'TSHIRT-1', quantity: 2, unit_price: 12500 }); // 25000
const coffee = line({ reference: 'FOOD-1', name: 'Coffee', quantity: 1, unit_price: 11200 }); // 11200

/** A Swedish VAT order exactly as we priced it: T-shirt, coffee at 12%, standard shipping. */
const swedishOrder = (rules: MerchantRules = vatRules()): ValidationOrder =>
  orderFromPriced(priced({ order_lines: [tshirt, coffee], shipping_address: seAddress() }, rules), { shipping_address: seAddress() });

/** A Californian order as we priced it: mugs, a coupon, express shipping, sales tax. */
const californianOrder = (rules: MerchantRules = salesTaxRules()): ValidationOrder =>
  orderFromPriced(
    priced(
      {
        order_lines: [line({ reference: 'MUG', quantity: 2, unit_price: 5000, tax_rate: 0 }), discountLine(1000, { tax_rate: 0 })],
        shipping_address: usAddress(),
        selected_shipping_option_id: 'express',
      },
      rules,
    ),
    { shipping_address: usAddress(), purchase_currency: 'USD' },
  );

/** Change the tax rate of a line and keep its tax and the order totals consistent. */
const atRate = (rate: number) => (l: OrderLine): OrderLine => ({ ...l, tax_rate: rate, total_tax_amount: includedTax(l.total_amount, rate) });

/** Change the price of a one-unit line and keep its tax and the order totals consistent. */
const atPrice = (price: number) => (l: OrderLine): OrderLine => ({
  ...l,
  unit_price: price,
  total_amount: price,
  total_tax_amount: includedTax(price, l.tax_rate),
});

describe('validateOrder approves', () => {
  it('a Swedish VAT order built from priceOrder’s own answer', () => {
    const order = swedishOrder();
    expect(order.order_amount).toBe(41100);
    expect(order.order_tax_amount).toBe(7180);
    expect(validateOrder(order, vatRules())).toEqual({ approve: true });
  });

  it('a Californian sales-tax order built from priceOrder’s own answer', () => {
    const order = californianOrder();
    expect([order.order_amount, order.order_tax_amount]).toEqual([11152, 653]);
    expect(validateOrder(order, salesTaxRules())).toEqual({ approve: true });
  });

  it('an order whose line tax is 1 off (Klarna’s tolerance) when its totals add up', () => {
    const order = withLine(swedishOrder(), 0, (l) => ({ ...l, total_tax_amount: l.total_tax_amount + 1 }));
    expect(validateOrder(order, vatRules())).toEqual({ approve: true });
  });

  it('a digital-only order without shipping', () => {
    const ebook = line({ type: 'digital', reference: 'EBOOK', quantity: 1, unit_price: 9900 });
    const order = orderFromPriced(priced({ order_lines: [ebook], shipping_address: seAddress() }, vatRules()));
    expect(order.selected_shipping_option).toBeUndefined();
    expect(validateOrder(order, vatRules())).toEqual({ approve: true });
  });

  it('an order under every limit exactly at its bound', () => {
    const order = swedishOrder();
    const rules = vatRules({
      min_order_amount: 41100,
      max_order_amount: 41100,
      max_quantity_per_line: 2,
      expected_order_amount: 41100,
      purchase_currency: 'SEK',
      shipping_countries: ['SE'],
      billing_countries: ['SE'],
      blocked_postal_code_prefixes: { SE: ['981'] },
      block_po_boxes: true,
      denied_references: ['OTHER'],
      allowed_customer_types: ['person'],
    });
    expect(validateOrder(order, rules)).toEqual({ approve: true });
  });

  it('an order without discount lines when Klarna discounts are turned off', () => {
    expect(validateOrder(swedishOrder(), vatRules({ klarna_discounts: false }))).toEqual({ approve: true });
    expect(validateOrder({ ...swedishOrder(), discount_lines: [] }, vatRules({ klarna_discounts: false }))).toEqual({ approve: true });
  });

  it('the merchant’s own fee line before the goods when the rules do not price shipping', () => {
    const rules = vatRules({ shipping_options: [] });
    const lines = [shippingFeeLine(4900), atRate(1200)(coffee)];
    const order = orderFromPriced({ order_lines: lines, ...totalsOf(lines) });
    expect(validateOrder(order, rules)).toEqual({ approve: true });
  });

  it('uses the billing address for shipping when the order has no shipping address', () => {
    const { shipping_address: _dropped, ...order } = swedishOrder();
    expect(validateOrder(order, vatRules({ shipping_countries: ['SE'] }))).toEqual({ approve: true });
    expect(validateOrder(order, vatRules({ shipping_countries: ['DE'] }))).toEqual({ approve: false, reason: 'shipping_country_not_allowed' });
  });
});

describe('validateOrder denies', () => {
  describe('an order that does not reconcile', () => {
    it('with line_total_mismatch and the line index', () => {
      const order = withLine(swedishOrder(), 1, (l) => ({ ...l, total_amount: l.total_amount + 1 }));
      expect(validateOrder(order, vatRules())).toEqual({ approve: false, reason: 'line_total_mismatch', line: 1 });
    });

    it('with line_tax_mismatch and the line index when a line tax is 2 off', () => {
      const order = withLine(swedishOrder(), 2, (l) => ({ ...l, total_tax_amount: l.total_tax_amount - 2 }));
      expect(validateOrder(order, vatRules())).toEqual({ approve: false, reason: 'line_tax_mismatch', line: 2 });
    });

    it('with order_amount_mismatch when order_amount is 1 off', () => {
      const order = swedishOrder();
      expect(validateOrder({ ...order, order_amount: order.order_amount + 1 }, vatRules())).toEqual({ approve: false, reason: 'order_amount_mismatch' });
    });

    it('with order_tax_mismatch when order_tax_amount is 1 off', () => {
      const order = swedishOrder();
      expect(validateOrder({ ...order, order_tax_amount: order.order_tax_amount - 1 }, vatRules())).toEqual({
        approve: false,
        reason: 'order_tax_mismatch',
      });
    });

    it('before any other check (an order that breaks every rule names the totals)', () => {
      const order = { ...swedishOrder(), order_amount: 1, purchase_currency: 'EUR' };
      expect(validateOrder(order, vatRules({ purchase_currency: 'SEK', shipping_countries: ['DE'] }))).toEqual({
        approve: false,
        reason: 'order_amount_mismatch',
      });
    });
  });

  it('currency_mismatch for an order in another currency than the rules’, case-insensitively', () => {
    expect(validateOrder({ ...swedishOrder(), purchase_currency: 'EUR' }, vatRules({ purchase_currency: 'SEK' }))).toEqual({
      approve: false,
      reason: 'currency_mismatch',
    });
    expect(validateOrder({ ...swedishOrder(), purchase_currency: 'sek' }, vatRules({ purchase_currency: 'SEK' }))).toEqual({ approve: true });
  });

  it('billing_country_not_allowed for a billing address outside billing_countries', () => {
    const order = { ...swedishOrder(), billing_address: deAddress() };
    expect(validateOrder(order, vatRules({ billing_countries: ['SE'] }))).toEqual({ approve: false, reason: 'billing_country_not_allowed' });
  });

  it('shipping_country_not_allowed for a shipping address outside shipping_countries', () => {
    expect(validateOrder(swedishOrder(), vatRules({ shipping_countries: ['DE'] }))).toEqual({ approve: false, reason: 'shipping_country_not_allowed' });
  });

  it('postal_code_blocked for a blocked postal prefix', () => {
    expect(validateOrder(swedishOrder(), vatRules({ blocked_postal_code_prefixes: { SE: ['113'] } }))).toEqual({
      approve: false,
      reason: 'postal_code_blocked',
    });
  });

  it('po_box for a PO box shipping address when PO boxes are blocked', () => {
    const order = { ...swedishOrder(), shipping_address: seAddress({ street_address: 'Box 123' }) };
    expect(validateOrder(order, vatRules({ block_po_boxes: true }))).toEqual({ approve: false, reason: 'po_box' });
    expect(validateOrder(order, vatRules())).toEqual({ approve: true });
  });

  it('address_missing for an order without any address', () => {
    const { shipping_address: _s, billing_address: _b, ...order } = swedishOrder();
    expect(validateOrder(order, vatRules())).toEqual({ approve: false, reason: 'address_missing' });
  });

  describe('shipping_fee_mismatch', () => {
    it('when the fee line is cheaper than the selected option', () => {
      const base = swedishOrder();
      const order = withLine(base, indexOfType(base, 'shipping_fee'), atPrice(2900));
      expect(validateOrder(order, vatRules())).toEqual({ approve: false, reason: 'shipping_fee_mismatch' });
    });

    it('when the fee line carries another tax rate than the rules give it', () => {
      const base = swedishOrder();
      const order = withLine(base, indexOfType(base, 'shipping_fee'), atRate(1200));
      expect(validateOrder(order, vatRules())).toEqual({ approve: false, reason: 'shipping_fee_mismatch' });
    });

    it('when the fee line is missing although physical goods ship', () => {
      const base = swedishOrder();
      const lines = base.order_lines.filter((l) => l.type !== 'shipping_fee');
      expect(validateOrder({ ...base, order_lines: lines, ...totalsOf(lines) }, vatRules())).toEqual({
        approve: false,
        reason: 'shipping_fee_mismatch',
      });
    });

    it('when there are two fee lines', () => {
      const base = swedishOrder();
      const fee = base.order_lines[indexOfType(base, 'shipping_fee')]!;
      const lines = [...base.order_lines, fee];
      expect(validateOrder({ ...base, order_lines: lines, ...totalsOf(lines) }, vatRules())).toEqual({
        approve: false,
        reason: 'shipping_fee_mismatch',
      });
    });

    it('when physical goods ship but no option is selected', () => {
      const { selected_shipping_option: _dropped, ...order } = swedishOrder();
      expect(validateOrder(order, vatRules())).toEqual({ approve: false, reason: 'shipping_fee_mismatch' });
    });

    it('when the fee is the standard price but the shopper selected express', () => {
      const order = { ...swedishOrder(), selected_shipping_option: { id: 'express' } };
      expect(validateOrder(order, vatRules())).toEqual({ approve: false, reason: 'shipping_fee_mismatch' });
    });

    it('when a digital-only order carries a fee line', () => {
      const ebook = line({ type: 'digital', reference: 'EBOOK', quantity: 1, unit_price: 9900 });
      const fee = line({ type: 'shipping_fee', reference: 'standard', quantity: 1, unit_price: 4900 });
      const order = orderFromPriced({ order_lines: [ebook, fee], ...totalsOf([ebook, fee]) });
      expect(validateOrder(order, vatRules())).toEqual({ approve: false, reason: 'shipping_fee_mismatch' });
    });
  });

  it('shipping_option_not_offered when the selected option is not offered at the address', () => {
    const order = { ...swedishOrder(), shipping_address: deAddress(), billing_address: deAddress(), selected_shipping_option: { id: 'pickup' } };
    expect(validateOrder(order, vatRules())).toEqual({ approve: false, reason: 'shipping_option_not_offered' });
  });

  it('no_tax_rate when the rules have no VAT rate for the destination', () => {
    const order = { ...swedishOrder(), shipping_address: seAddress({ country: 'NO' }) };
    expect(validateOrder(order, vatRules())).toEqual({ approve: false, reason: 'no_tax_rate' });
  });

  describe('tax_mismatch', () => {
    it('when a goods line carries another VAT rate than the destination’s, naming the line', () => {
      const order = withLine(swedishOrder(), 0, atRate(1200));
      expect(validateOrder(order, vatRules())).toEqual({ approve: false, reason: 'tax_mismatch', line: 0 });
    });

    it('when a reduced-rate reference carries the full rate', () => {
      const order = withLine(swedishOrder(), 1, atRate(2500));
      expect(validateOrder(order, vatRules())).toEqual({ approve: false, reason: 'tax_mismatch', line: 1 });
    });

    it('when a Swedish-taxed order ships to Germany (the fee line’s rate is compared first)', () => {
      const order = { ...swedishOrder(), shipping_address: deAddress(), billing_address: deAddress() };
      expect(validateOrder(order, vatRules())).toEqual({ approve: false, reason: 'shipping_fee_mismatch' });
      const goodsOnly = orderFromPriced(priced({ order_lines: [tshirt], shipping_address: seAddress() }, vatRules({ shipping_options: [] })), {
        shipping_address: deAddress(),
      });
      expect(validateOrder(goodsOnly, vatRules({ shipping_options: [] }))).toEqual({ approve: false, reason: 'tax_mismatch', line: 0 });
    });

    it('when a VAT order carries a sales_tax line', () => {
      const base = swedishOrder();
      const lines = [...base.order_lines, salesTaxLine(100)];
      expect(validateOrder({ ...base, order_lines: lines, ...totalsOf(lines) }, vatRules())).toEqual({ approve: false, reason: 'tax_mismatch' });
    });

    it('when the sales tax line is 1 more than the rules compute', () => {
      const base = californianOrder();
      const order = withLine(base, indexOfType(base, 'sales_tax'), atPrice(654));
      expect(validateOrder(order, salesTaxRules())).toEqual({ approve: false, reason: 'tax_mismatch' });
    });

    it('when the sales tax line is missing', () => {
      const base = californianOrder();
      const lines = base.order_lines.filter((l) => l.type !== 'sales_tax');
      expect(validateOrder({ ...base, order_lines: lines, ...totalsOf(lines) }, salesTaxRules())).toEqual({ approve: false, reason: 'tax_mismatch' });
    });

    it('when the sales tax was computed at the New York rate for a Californian address', () => {
      const base = californianOrder();
      const order = withLine(base, indexOfType(base, 'sales_tax'), atPrice(360));
      expect(validateOrder(order, salesTaxRules())).toEqual({ approve: false, reason: 'tax_mismatch' });
    });

    it('when a US goods line carries tax (even the 1 Klarna’s tolerance would let through)', () => {
      const withRate = withLine(californianOrder(), 0, atRate(725));
      expect(validateOrder(withRate, salesTaxRules())).toEqual({ approve: false, reason: 'tax_mismatch', line: 0 });
      const withOne = withLine(californianOrder(), 0, (l) => ({ ...l, total_tax_amount: 1 }));
      expect(validateOrder(withOne, salesTaxRules())).toEqual({ approve: false, reason: 'tax_mismatch', line: 0 });
    });
  });

  it('below_min_amount one under the minimum', () => {
    expect(validateOrder(swedishOrder(), vatRules({ min_order_amount: 41101 }))).toEqual({ approve: false, reason: 'below_min_amount' });
  });

  it('above_max_amount one over the maximum', () => {
    expect(validateOrder(swedishOrder(), vatRules({ max_order_amount: 41099 }))).toEqual({ approve: false, reason: 'above_max_amount' });
  });

  it('quantity_exceeded for a goods line above the per-line limit, naming the line', () => {
    expect(validateOrder(swedishOrder(), vatRules({ max_quantity_per_line: 1 }))).toEqual({ approve: false, reason: 'quantity_exceeded', line: 0 });
  });

  it('quantity_exceeded for a digital line one over the limit, and approves it exactly at the limit', () => {
    const ebooks = (quantity: number) =>
      orderFromPriced(priced({ order_lines: [line({ type: 'digital', reference: 'EBOOK', quantity, unit_price: 9900 })], shipping_address: seAddress() }, vatRules()));
    expect(validateOrder(ebooks(3), vatRules({ max_quantity_per_line: 2 }))).toEqual({ approve: false, reason: 'quantity_exceeded', line: 0 });
    expect(validateOrder(ebooks(2), vatRules({ max_quantity_per_line: 2 }))).toEqual({ approve: true });
  });

  it('quantity_exceeded for a line without a type (physical by default) one over the limit', () => {
    const { type: _type, ...untyped } = line({ reference: 'MUG', quantity: 3, unit_price: 1000 });
    const order = orderFromPriced(priced({ order_lines: [untyped], shipping_address: seAddress() }, vatRules()));
    expect(order.order_lines[0]?.type).toBeUndefined();
    expect(validateOrder(order, vatRules({ max_quantity_per_line: 2 }))).toEqual({ approve: false, reason: 'quantity_exceeded', line: 0 });
  });

  it('does not count discount or fee lines against the quantity limit', () => {
    const lines = [line({ quantity: 1, unit_price: 30000 }), discountLine(10, { quantity: 2, unit_price: -5 })];
    const order = orderFromPriced(priced({ order_lines: lines, shipping_address: seAddress() }, vatRules()));
    expect(order.order_lines[1]).toMatchObject({ type: 'discount', quantity: 2 });
    expect(validateOrder(order, vatRules({ max_quantity_per_line: 1 }))).toEqual({ approve: true });
  });

  it('denied_reference for a SKU that cannot be bought, naming the line', () => {
    expect(validateOrder(swedishOrder(), vatRules({ denied_references: ['FOOD-1'] }))).toEqual({ approve: false, reason: 'denied_reference', line: 1 });
  });

  it('customer_type_not_allowed for an organization where only persons may buy', () => {
    const order = { ...swedishOrder(), customer: { type: 'organization' as const } };
    expect(validateOrder(order, vatRules({ allowed_customer_types: ['person'] }))).toEqual({ approve: false, reason: 'customer_type_not_allowed' });
  });

  it('treats an order without customer type as a person', () => {
    expect(validateOrder(swedishOrder(), vatRules({ allowed_customer_types: ['organization'] }))).toEqual({
      approve: false,
      reason: 'customer_type_not_allowed',
    });
    expect(validateOrder(swedishOrder(), vatRules({ allowed_customer_types: ['person'] }))).toEqual({ approve: true });
  });

  it('too_many_lines when a full cart (1000 goods lines) leaves no room for the shipping fee line', () => {
    const cart = Array.from({ length: 999 }, (_, i) => line({ reference: `SKU-${i}`, quantity: 1, unit_price: 1000 }));
    const fits = orderFromPriced(priced({ order_lines: cart, shipping_address: seAddress() }, vatRules()), { shipping_address: seAddress() });
    expect(fits.order_lines).toHaveLength(1000);
    expect(validateOrder(fits, vatRules())).toEqual({ approve: true });
    // The fee line replaced by one more article: still 1000 lines, but we could not have added the fee.
    const fee = indexOfType(fits, 'shipping_fee');
    const full = fits.order_lines.map((l, i) => (i === fee ? line({ reference: 'SKU-999', quantity: 1, unit_price: 1000 }) : l));
    expect(validateOrder({ ...fits, order_lines: full, ...totalsOf(full) }, vatRules())).toEqual({ approve: false, reason: 'too_many_lines' });
  });

  it('with no line key at all when the reason names no line', () => {
    const verdict = validateOrder(swedishOrder(), vatRules({ min_order_amount: 41101 }));
    expect(verdict).toStrictEqual({ approve: false, reason: 'below_min_amount' });
    expect('line' in verdict).toBe(false);
  });

  it('empty_order before the address checks for an order that buys nothing', () => {
    const fee = shippingFeeLine(4900);
    const order = orderFromPriced({ order_lines: [fee], ...totalsOf([fee]) }, { shipping_address: deAddress() });
    expect(validateOrder(order, vatRules({ shipping_countries: ['SE'] }))).toEqual({ approve: false, reason: 'empty_order' });
  });

  it('currency_mismatch before the address checks', () => {
    const order = { ...swedishOrder(), purchase_currency: 'EUR' };
    expect(validateOrder(order, vatRules({ purchase_currency: 'SEK', shipping_countries: ['DE'] }))).toEqual({
      approve: false,
      reason: 'currency_mismatch',
    });
  });

  it('no_tax_rate, not a fee mismatch, for a digital order without a selected option to a country without a rate', () => {
    const ebook = line({ type: 'digital', reference: 'EBOOK', quantity: 1, unit_price: 9900 });
    const order = orderFromPriced(priced({ order_lines: [ebook], shipping_address: seAddress() }, vatRules()), {
      shipping_address: seAddress({ country: 'NO' }),
    });
    expect(order.selected_shipping_option).toBeUndefined();
    expect(validateOrder(order, vatRules())).toEqual({ approve: false, reason: 'no_tax_rate' });
  });

  it('expected_amount_mismatch when order_amount differs from the merchant’s cart total by 1', () => {
    expect(validateOrder(swedishOrder(), vatRules({ expected_order_amount: 41101 }))).toEqual({ approve: false, reason: 'expected_amount_mismatch' });
    expect(validateOrder(swedishOrder(), vatRules({ expected_order_amount: 41099 }))).toEqual({ approve: false, reason: 'expected_amount_mismatch' });
  });
});
