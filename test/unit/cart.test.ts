import { priceOrder, SALES_TAX_LINE_NAME } from '../../functions/kco/cart.js';
import type { OrderLine } from '../../functions/kco/order.js';
import {
  deAddress,
  discountLine,
  line,
  option,
  priced,
  salesTaxLine,
  salesTaxRules,
  seAddress,
  shippingFeeLine,
  usAddress,
  vatRules,
} from '../support/orders.js';
import { klarnaViolations } from '../support/klarna-checks.js';

const tshirt = line({ reference: 'TSHIRT-1', name: 'T-shirt', quantity: 2, unit_price: 12500, tax_rate: 0 }); // 25000
const coffee = line({ reference: 'FOOD-1', name: 'Coffee', quantity: 1, unit_price: 11200, tax_rate: 2500 }); // 11200

const linesOfType = (lines: readonly OrderLine[], type: OrderLine['type']) => lines.filter((l) => l.type === type);

describe('priceOrder: VAT', () => {
  it('taxes Sweden at 25% and a reduced-rate reference at 12%, with the preselected shipping', () => {
    const order = priced({ order_lines: [tshirt, coffee], shipping_address: seAddress() }, vatRules());
    expect(order.order_lines.map((l) => [l.reference, l.total_amount, l.tax_rate, l.total_tax_amount])).toEqual([
      ['TSHIRT-1', 25000, 2500, 5000],
      ['FOOD-1', 11200, 1200, 1200],
      ['standard', 4900, 2500, 980],
    ]);
    expect(order.order_amount).toBe(41100);
    expect(order.order_tax_amount).toBe(7180);
    expect(klarnaViolations(order)).toEqual([]);
  });

  it('offers every option for Sweden, the chosen one marked preselected, taxed at 25%', () => {
    const order = priced({ order_lines: [tshirt, coffee], shipping_address: seAddress() }, vatRules());
    expect(order.shipping_options).toStrictEqual([
      { id: 'standard', name: 'Standard delivery', price: 4900, tax_amount: 980, tax_rate: 2500, shipping_method: 'Home', preselected: true },
      { id: 'express', name: 'Express delivery', price: 9900, tax_amount: 1980, tax_rate: 2500, shipping_method: 'Home', preselected: false },
      { id: 'pickup', name: 'Pickup point', price: 2900, tax_amount: 580, tax_rate: 2500, shipping_method: 'PickUpPoint', preselected: false },
    ]);
    expect(order.selected_shipping_option?.id).toBe('standard');
  });

  it('taxes Germany at 19%, shipping included (the reference has no German exception), and drops the Sweden-only option', () => {
    const order = priced({ order_lines: [tshirt, coffee], shipping_address: deAddress() }, vatRules());
    expect(order.order_lines.map((l) => [l.reference, l.total_amount, l.tax_rate, l.total_tax_amount])).toEqual([
      ['TSHIRT-1', 25000, 1900, 3992], // 25000 / 1.19 = 21008.40
      ['FOOD-1', 11200, 1900, 1788], // 11200 / 1.19 = 9411.76
      ['standard', 4900, 1900, 782], // 4900 / 1.19 = 4117.65
    ]);
    expect(order.order_amount).toBe(41100);
    expect(order.order_tax_amount).toBe(6562);
    expect(order.shipping_options?.map((o) => [o.id, o.tax_rate, o.tax_amount])).toEqual([
      ['standard', 1900, 782],
      ['express', 1900, 1581], // 9900 / 1.19 = 8319.33
    ]);
  });

  it("taxes shipping at the destination's VAT rate whatever rate the option rule carries", () => {
    const rules = vatRules({ shipping_options: [option({ id: 'home', name: 'Home', price: 1000, tax_rate: 0 })] });
    const order = priced({ order_lines: [tshirt], shipping_address: seAddress() }, rules);
    // Strict: an option without a description or shipping_method carries no such keys at all.
    expect(order.shipping_options).toStrictEqual([{ id: 'home', name: 'Home', price: 1000, tax_amount: 200, tax_rate: 2500, preselected: true }]);
  });

  it("uses the option's own tax rate when the rules have no tax section", () => {
    const rules = vatRules({ tax: undefined, shipping_options: [option({ id: 'home', name: 'Home', price: 1060, tax_rate: 600 })] });
    const order = priced({ order_lines: [line({ tax_rate: 2500 })], shipping_address: deAddress() }, rules);
    expect(order.order_lines.map((l) => [l.type, l.tax_rate, l.total_tax_amount])).toEqual([
      ['physical', 2500, 5000],
      ['shipping_fee', 600, 60],
    ]);
  });

  it('carries the description of an option when the rules give one', () => {
    const rules = vatRules({ shipping_options: [option({ id: 'home', name: 'Home', description: '2-4 days', price: 1000, tax_rate: 2500 })] });
    const order = priced({ order_lines: [tshirt], shipping_address: seAddress() }, rules);
    expect(order.shipping_options).toEqual([
      { id: 'home', name: 'Home', description: '2-4 days', price: 1000, tax_amount: 200, tax_rate: 2500, preselected: true },
    ]);
  });

  it('taxes discount lines negatively at the destination rate', () => {
    const order = priced({ order_lines: [tshirt, discountLine(2500, { tax_rate: 0 })], shipping_address: seAddress() }, vatRules());
    expect(order.order_lines[1]).toMatchObject({ type: 'discount', total_amount: -2500, tax_rate: 2500, total_tax_amount: -500 });
    expect(order.order_amount).toBe(25000 - 2500 + 4900);
    expect(order.order_tax_amount).toBe(5000 - 500 + 980);
  });

  it('leaves gift cards and store credit outside VAT', () => {
    const giftCard = line({ type: 'gift_card', reference: 'GC', name: 'Gift card', quantity: 1, unit_price: 50000, tax_rate: 2500 });
    const credit = line({ type: 'store_credit', reference: 'SC', name: 'Store credit', quantity: 1, unit_price: -1000, tax_rate: 2500 });
    const order = priced({ order_lines: [tshirt, giftCard, credit], shipping_address: seAddress() }, vatRules());
    expect(order.order_lines.slice(0, 3).map((l) => [l.type, l.tax_rate, l.total_tax_amount])).toEqual([
      ['physical', 2500, 5000],
      ['gift_card', 0, 0],
      ['store_credit', 0, 0],
    ]);
  });

  it('keeps fields it does not compute (merchant_data, product fields) on every goods line', () => {
    const rich = { ...tshirt, merchant_data: '{"x":1}', product_url: 'https://shop.example/p/1', subscription: { interval: 'DAY' } };
    const order = priced({ order_lines: [rich], shipping_address: seAddress() }, vatRules());
    expect(order.order_lines[0]).toEqual({ ...rich, tax_rate: 2500, total_tax_amount: 5000 });
  });

  it('answers no_tax_rate for a destination without a VAT rate', () => {
    expect(priceOrder({ order_lines: [tshirt], shipping_address: seAddress({ country: 'FR' }), selection: 'keep' }, vatRules())).toEqual({
      ok: false,
      reason: 'no_tax_rate',
    });
  });
});

describe('priceOrder: shipping options', () => {
  it('makes standard free when the goods subtotal is exactly free_over', () => {
    const goods = line({ quantity: 4, unit_price: 12500 }); // 50000
    const order = priced({ order_lines: [goods], shipping_address: seAddress() }, vatRules());
    expect(order.shipping_options?.[0]).toMatchObject({ id: 'standard', price: 0, tax_amount: 0 });
    expect(linesOfType(order.order_lines, 'shipping_fee')).toEqual([
      { type: 'shipping_fee', reference: 'standard', name: 'Standard delivery', quantity: 1, unit_price: 0, tax_rate: 2500, total_amount: 0, total_discount_amount: 0, total_tax_amount: 0 },
    ]);
    expect(order.order_amount).toBe(50000);
    expect(order.order_tax_amount).toBe(10000);
  });

  it('charges standard when a discount brings the subtotal one below free_over', () => {
    const order = priced({ order_lines: [line({ quantity: 4, unit_price: 12500 }), discountLine(1)], shipping_address: seAddress() }, vatRules());
    expect(order.shipping_options?.[0]).toMatchObject({ id: 'standard', price: 4900, tax_amount: 980 });
    expect(order.order_amount).toBe(49999 + 4900);
  });

  it('counts only goods and discounts towards free_over, not store credit or surcharges', () => {
    const goods = line({ quantity: 4, unit_price: 12500 }); // 50000: exactly free_over
    const credit = line({ type: 'store_credit', reference: 'SC', name: 'Store credit', quantity: 1, unit_price: -1000, tax_rate: 0 });
    const withCredit = priced({ order_lines: [goods, credit], shipping_address: seAddress() }, vatRules());
    expect(withCredit.selected_shipping_option).toMatchObject({ id: 'standard', price: 0 });
    expect(withCredit.order_amount).toBe(49000);

    const surcharge = line({ type: 'surcharge', reference: 'S', name: 'Handling', quantity: 1, unit_price: 1000 });
    const withSurcharge = priced({ order_lines: [line({ quantity: 4, unit_price: 12000 }), surcharge], shipping_address: seAddress() }, vatRules());
    expect(withSurcharge.selected_shipping_option).toMatchObject({ id: 'standard', price: 4900 });
    expect(withSurcharge.order_amount).toBe(48000 + 1000 + 4900);
  });

  it('does not apply free_over to options without it', () => {
    const order = priced({ order_lines: [line({ quantity: 4, unit_price: 12500 })], shipping_address: seAddress() }, vatRules());
    expect(order.shipping_options?.find((o) => o.id === 'express')?.price).toBe(9900);
  });

  it('keeps the shopper’s selected option when it is still offered', () => {
    const order = priced({ order_lines: [tshirt], shipping_address: seAddress(), selected_shipping_option_id: 'express' }, vatRules());
    expect(order.selected_shipping_option).toMatchObject({ id: 'express', price: 9900, preselected: true });
    expect(order.shipping_options?.map((o) => [o.id, o.preselected])).toEqual([
      ['standard', false],
      ['express', true],
      ['pickup', false],
    ]);
    expect(linesOfType(order.order_lines, 'shipping_fee').map((l) => [l.reference, l.total_amount, l.total_tax_amount])).toEqual([['express', 9900, 1980]]);
  });

  it('falls back to the preselected option when the selected one is not offered for the new country', () => {
    const order = priced({ order_lines: [tshirt], shipping_address: deAddress(), selected_shipping_option_id: 'pickup' }, vatRules());
    expect(order.selected_shipping_option?.id).toBe('standard');
  });

  it('falls back to the first offered option when none is preselected', () => {
    const rules = vatRules({
      shipping_options: [option({ id: 'b-first', name: 'First', price: 100 }), option({ id: 'a-second', name: 'Second', price: 200 })],
    });
    const order = priced({ order_lines: [tshirt], shipping_address: seAddress(), selected_shipping_option_id: 'gone' }, rules);
    expect(order.selected_shipping_option?.id).toBe('b-first');
  });

  it('preselects the first preselected option offered in the country, wherever it sits in the rules', () => {
    // Pickup is preselected in Sweden (its only country), express everywhere else.
    const rules = vatRules({
      shipping_options: [
        option({ id: 'home', name: 'Home', price: 4900 }),
        option({ id: 'pickup', name: 'Pickup', price: 2900, countries: ['SE'], preselected: true }),
        option({ id: 'express', name: 'Express', price: 9900, preselected: true }),
      ],
    });
    const de = priced({ order_lines: [tshirt], shipping_address: deAddress() }, rules);
    expect(de.selected_shipping_option).toMatchObject({ id: 'express', price: 9900 });
    expect(de.shipping_options?.map((o) => [o.id, o.preselected])).toEqual([
      ['home', false],
      ['express', true],
    ]);
    expect(linesOfType(de.order_lines, 'shipping_fee').map((l) => [l.reference, l.total_amount])).toEqual([['express', 9900]]);
    expect(priced({ order_lines: [tshirt], shipping_address: seAddress() }, rules).selected_shipping_option?.id).toBe('pickup');
  });

  it('falls back to the first offered option when the preselected one is not offered there', () => {
    const rules = vatRules({
      shipping_options: [
        option({ id: 'pickup', name: 'Pickup', price: 2900, countries: ['SE'], preselected: true }),
        option({ id: 'home', name: 'Home', price: 4900 }),
        option({ id: 'express', name: 'Express', price: 9900 }),
      ],
    });
    const order = priced({ order_lines: [tshirt], shipping_address: deAddress() }, rules);
    expect(order.selected_shipping_option?.id).toBe('home');
  });

  it('in require mode refuses a selected option not offered for the address', () => {
    const input = { order_lines: [tshirt], shipping_address: deAddress(), selected_shipping_option_id: 'pickup', selection: 'require' as const };
    expect(priceOrder(input, vatRules())).toEqual({ ok: false, reason: 'shipping_option_not_offered' });
  });

  it('in require mode refuses an order that needs shipping but has no selected option', () => {
    expect(priceOrder({ order_lines: [tshirt], shipping_address: seAddress(), selection: 'require' }, vatRules())).toEqual({
      ok: false,
      reason: 'shipping_option_not_offered',
    });
  });

  it('in require mode prices the selected option when it is offered', () => {
    const result = priceOrder({ order_lines: [tshirt], shipping_address: seAddress(), selected_shipping_option_id: 'pickup', selection: 'require' }, vatRules());
    expect(result.ok && result.order.selected_shipping_option?.id).toBe('pickup');
    expect(result.ok && result.order.order_amount).toBe(25000 + 2900);
  });

  it('answers no_shipping_option when no option is offered in the destination', () => {
    const rules = vatRules({ shipping_options: [option({ id: 'pickup', name: 'Pickup', price: 2900, countries: ['SE'] })] });
    expect(priceOrder({ order_lines: [tshirt], shipping_address: deAddress(), selection: 'keep' }, rules)).toEqual({
      ok: false,
      reason: 'no_shipping_option',
    });
  });

  it('prices the shipping_fee line from the rules, ignoring the price in the request', () => {
    const shopFee = shippingFeeLine(1, { reference: 'standard', tax_rate: 0 });
    const order = priced({ order_lines: [tshirt, shopFee], shipping_address: seAddress(), selected_shipping_option_id: 'standard' }, vatRules());
    expect(linesOfType(order.order_lines, 'shipping_fee')).toEqual([
      { type: 'shipping_fee', reference: 'standard', name: 'Standard delivery', quantity: 1, unit_price: 4900, tax_rate: 2500, total_amount: 4900, total_discount_amount: 0, total_tax_amount: 980 },
    ]);
    expect(order.order_amount).toBe(29900);
  });

  it('replaces incoming shipping_fee and sales_tax lines instead of adding to them (VAT)', () => {
    const lines = [shippingFeeLine(4900), tshirt, salesTaxLine(300), shippingFeeLine(100, { reference: 'express' })];
    const order = priced({ order_lines: lines, shipping_address: seAddress() }, vatRules());
    expect(order.order_lines.map((l) => l.type)).toEqual(['physical', 'shipping_fee']);
    expect(order.order_amount).toBe(29900);
    expect(order.order_tax_amount).toBe(5980);
  });

  it('gives a digital-only order no shipping options and no fee line, dropping an incoming one', () => {
    const ebook = line({ type: 'digital', reference: 'EBOOK', name: 'E-book', quantity: 1, unit_price: 9900 });
    const order = priced({ order_lines: [ebook, shippingFeeLine(4900)], shipping_address: seAddress(), selected_shipping_option_id: 'standard' }, vatRules());
    expect(order.shipping_options).toBeUndefined();
    expect(order.selected_shipping_option).toBeUndefined();
    expect(order.order_lines.map((l) => [l.type, l.total_amount, l.total_tax_amount])).toEqual([['digital', 9900, 1980]]);
    expect(order.order_amount).toBe(9900);
  });

  it('treats a line without a type as physical (it needs shipping)', () => {
    const { type: _type, ...untyped } = tshirt;
    const order = priced({ order_lines: [untyped], shipping_address: seAddress() }, vatRules());
    expect(linesOfType(order.order_lines, 'shipping_fee')).toHaveLength(1);
  });

  it('adds no fee line when the rules configure no shipping options', () => {
    const order = priced({ order_lines: [tshirt], shipping_address: seAddress() }, vatRules({ shipping_options: [] }));
    expect(order.order_lines.map((l) => l.type)).toEqual(['physical']);
    expect(order.shipping_options).toBeUndefined();
  });
});

describe('priceOrder: US sales tax', () => {
  const goods = line({ reference: 'MUG', name: 'Mug', quantity: 2, unit_price: 5000, tax_rate: 1000 }); // 10000, shop sent VAT-style tax
  const coupon = discountLine(1000, { tax_rate: 0 }); // −1000

  it('puts the California tax (7.25%) on one Sales Tax line and none on the goods', () => {
    const order = priced({ order_lines: [goods, coupon], shipping_address: usAddress(), selected_shipping_option_id: 'express' }, salesTaxRules());
    expect(order.order_lines.map((l) => [l.type, l.total_amount, l.tax_rate, l.total_tax_amount])).toEqual([
      ['physical', 10000, 0, 0],
      ['discount', -1000, 0, 0],
      ['shipping_fee', 1499, 0, 0],
      ['sales_tax', 653, 0, 0], // 9000 × 7.25% = 652.5
    ]);
    expect(linesOfType(order.order_lines, 'sales_tax')).toEqual([
      { type: 'sales_tax', reference: 'sales-tax', name: 'Sales Tax', quantity: 1, unit_price: 653, tax_rate: 0, total_amount: 653, total_discount_amount: 0, total_tax_amount: 0 },
    ]);
    expect(SALES_TAX_LINE_NAME).toBe('Sales Tax');
    expect(order.order_amount).toBe(10000 - 1000 + 1499 + 653);
    expect(order.order_tax_amount).toBe(653);
    expect(klarnaViolations(order)).toEqual([]);
  });

  it('offers shipping without a tax rate, even when the rule gives one', () => {
    const rules = salesTaxRules({ shipping_options: [option({ id: 'ground', name: 'Ground', price: 599, tax_rate: 2500 })] });
    const order = priced({ order_lines: [goods], shipping_address: usAddress() }, rules);
    expect(order.shipping_options).toEqual([{ id: 'ground', name: 'Ground', price: 599, tax_amount: 0, tax_rate: 0, preselected: true }]);
  });

  it('applies free_over to the subtotal before tax', () => {
    const order = priced({ order_lines: [goods, coupon], shipping_address: usAddress() }, salesTaxRules());
    expect(order.selected_shipping_option).toMatchObject({ id: 'standard', price: 0 });
  });

  it('taxes shipping too when tax_shipping is on', () => {
    const rules = salesTaxRules({ tax: { mode: 'sales_tax', rates: { 'US-CA': 725, US: 0 }, tax_shipping: true } });
    const order = priced({ order_lines: [goods, coupon], shipping_address: usAddress(), selected_shipping_option_id: 'express' }, rules);
    expect(linesOfType(order.order_lines, 'sales_tax')[0]?.total_amount).toBe(761); // 10499 × 7.25% = 761.18
    expect(order.order_amount).toBe(10499 + 761);
    expect(order.order_tax_amount).toBe(761);
  });

  it('taxes shipping but still not gift cards when tax_shipping is on', () => {
    const rules = salesTaxRules({ tax: { mode: 'sales_tax', rates: { 'US-CA': 725 }, tax_shipping: true } });
    const giftCard = line({ type: 'gift_card', reference: 'GC', name: 'Gift card', quantity: 1, unit_price: 5000, tax_rate: 0 });
    const order = priced({ order_lines: [goods, giftCard], shipping_address: usAddress(), selected_shipping_option_id: 'express' }, rules);
    expect(linesOfType(order.order_lines, 'sales_tax')[0]?.total_amount).toBe(834); // (10000 + 1499) × 7.25% = 833.68
    expect(order.order_amount).toBe(10000 + 5000 + 1499 + 834);
  });

  it('leaves shipping untaxed when the rules do not mention tax_shipping', () => {
    const rules = salesTaxRules({ tax: { mode: 'sales_tax', rates: { 'US-CA': 725 } } });
    const order = priced({ order_lines: [goods], shipping_address: usAddress(), selected_shipping_option_id: 'express' }, rules);
    expect(order.order_lines.map((l) => [l.type, l.total_amount])).toEqual([
      ['physical', 10000],
      ['shipping_fee', 1499],
      ['sales_tax', 725], // 10000 × 7.25%, not 11499 × 7.25% = 834
    ]);
  });

  it('prefers the US-<region> rate over the US rate, region case-insensitive', () => {
    const rules = salesTaxRules({ tax: { mode: 'sales_tax', rates: { 'US-CA': 725, 'US-NY': 400, US: 500 } } });
    const tax = (region: string) =>
      linesOfType(priced({ order_lines: [goods, coupon], shipping_address: usAddress({ region }) }, rules).order_lines, 'sales_tax')[0]?.total_amount;
    expect(tax('CA')).toBe(653);
    expect(tax(' ca ')).toBe(653);
    expect(tax('NY')).toBe(360);
    expect(tax('TX')).toBe(450); // US fallback, 5%
  });

  it('adds a zero Sales Tax line where the rate is 0', () => {
    const order = priced({ order_lines: [goods], shipping_address: usAddress({ region: 'OR' }) }, salesTaxRules());
    expect(linesOfType(order.order_lines, 'sales_tax').map((l) => l.total_amount)).toEqual([0]);
    expect(order.order_tax_amount).toBe(0);
  });

  it('answers no_tax_rate when neither the region nor the country has a rate', () => {
    const rules = salesTaxRules({ tax: { mode: 'sales_tax', rates: { 'US-CA': 725 } } });
    expect(priceOrder({ order_lines: [goods], shipping_address: usAddress({ region: 'OR' }), selection: 'keep' }, rules)).toEqual({
      ok: false,
      reason: 'no_tax_rate',
    });
  });

  it('replaces an incoming sales_tax line and shipping fee with exactly one of each', () => {
    const lines = [goods, salesTaxLine(999), shippingFeeLine(5, { reference: 'express', tax_rate: 0 }), salesTaxLine(1)];
    const order = priced({ order_lines: lines, shipping_address: usAddress(), selected_shipping_option_id: 'express' }, salesTaxRules());
    expect(order.order_lines.map((l) => [l.type, l.total_amount])).toEqual([
      ['physical', 10000],
      ['shipping_fee', 1499],
      ['sales_tax', 725],
    ]);
    expect(order.order_tax_amount).toBe(725);
  });

  it('puts a zero Sales Tax line, never a negative one, on an order whose discounts exceed its goods', () => {
    // Goods 1000, coupon 1500: the taxable base is −500; shipping (untaxed) keeps the total positive.
    const order = priced(
      { order_lines: [line({ reference: 'MUG', quantity: 1, unit_price: 1000, tax_rate: 0 }), discountLine(1500, { tax_rate: 0 })], shipping_address: usAddress(), selected_shipping_option_id: 'express' },
      salesTaxRules(),
    );
    expect(order.order_lines.map((l) => [l.type, l.total_amount])).toEqual([
      ['physical', 1000],
      ['discount', -1500],
      ['shipping_fee', 1499],
      ['sales_tax', 0],
    ]);
    expect([order.order_amount, order.order_tax_amount]).toEqual([999, 0]);
  });

  it('taxes surcharges but not gift cards', () => {
    const surcharge = line({ type: 'surcharge', reference: 'S', name: 'Handling', quantity: 1, unit_price: 1000, tax_rate: 0 });
    const giftCard = line({ type: 'gift_card', reference: 'GC', name: 'Gift card', quantity: 1, unit_price: 5000, tax_rate: 0 });
    const order = priced({ order_lines: [goods, surcharge, giftCard], shipping_address: usAddress() }, salesTaxRules());
    expect(linesOfType(order.order_lines, 'sales_tax')[0]?.total_amount).toBe(798); // 11000 × 7.25% = 797.5
  });
});

describe('priceOrder: refusals', () => {
  it('refuses a line whose total is not quantity × unit_price − discount, naming the line', () => {
    const bad = { ...line({ reference: 'BAD' }), total_amount: 24999 };
    expect(priceOrder({ order_lines: [tshirt, bad], shipping_address: seAddress(), selection: 'keep' }, vatRules())).toEqual({
      ok: false,
      reason: 'line_total_mismatch',
      line: 1,
    });
  });

  it('answers address_missing without a shipping address or country', () => {
    expect(priceOrder({ order_lines: [tshirt], shipping_address: undefined, selection: 'keep' }, vatRules())).toEqual({ ok: false, reason: 'address_missing' });
    expect(priceOrder({ order_lines: [tshirt], shipping_address: { city: 'Stockholm' }, selection: 'keep' }, vatRules())).toEqual({
      ok: false,
      reason: 'address_missing',
    });
  });

  it('without tax rules keeps each line’s own tax and refuses one outside Klarna tolerance', () => {
    const own = line({ tax_rate: 1000, quantity: 5, unit_price: 10000 }); // 50000, tax 4545
    const order = priced({ order_lines: [own], shipping_address: seAddress() }, vatRules({ tax: undefined }));
    expect(order.order_lines[0]).toEqual(own);
    const wrong = { ...own, total_tax_amount: 4547 };
    expect(priceOrder({ order_lines: [own, wrong], shipping_address: seAddress(), selection: 'keep' }, vatRules({ tax: undefined }))).toEqual({
      ok: false,
      reason: 'line_tax_mismatch',
      line: 1,
    });
  });

  it('without tax rules keeps the shop’s own sales_tax line (it is the merchant’s tax, not ours to drop)', () => {
    const goods = line({ reference: 'MUG', quantity: 1, unit_price: 5000, tax_rate: 0 });
    const ownTax = salesTaxLine(363);
    const order = priced({ order_lines: [goods, ownTax], shipping_address: usAddress() }, salesTaxRules({ tax: undefined }));
    expect(order.order_lines.map((l) => [l.type, l.total_amount])).toEqual([
      ['physical', 5000],
      ['sales_tax', 363],
      ['shipping_fee', 599],
    ]);
    expect([order.order_amount, order.order_tax_amount]).toEqual([5962, 363]);
  });

  it('counts the tax a shop puts on its own sales_tax line into order_tax_amount, with the line', () => {
    const goods = line({ reference: 'MUG', quantity: 1, unit_price: 5000, tax_rate: 0 });
    const ownTax = salesTaxLine(363, { total_tax_amount: 1 }); // within Klarna's ±1 of 0
    const order = priced({ order_lines: [goods, ownTax], shipping_address: usAddress() }, salesTaxRules({ tax: undefined }));
    expect([order.order_amount, order.order_tax_amount]).toEqual([5000 + 363 + 599, 364]);
  });

  it('answers internal_error naming the line when it cannot tax an amount exactly (past safe integers)', () => {
    // Far beyond Klarna's caps: floats cannot hold 25% of it to within ±1, and reconcile catches it.
    const huge = line({ reference: 'HUGE', quantity: 1, unit_price: 11342857142857142 });
    expect(priceOrder({ order_lines: [tshirt, huge], shipping_address: seAddress(), selection: 'keep' }, vatRules({ shipping_options: [] }))).toEqual({
      ok: false,
      reason: 'internal_error',
      line: 1,
    });
  });

  it('accepts an order discounted to exactly 0', () => {
    const order = priced({ order_lines: [line({ quantity: 1, unit_price: 1000 }), discountLine(1000)], shipping_address: seAddress() }, vatRules({ shipping_options: [] }));
    expect([order.order_amount, order.order_tax_amount]).toEqual([0, 0]);
  });

  it('keeps within Klarna’s 1000 lines: a full cart leaves no room for our fee and tax lines', () => {
    const cart = (n: number) => Array.from({ length: n }, (_, i) => line({ reference: `SKU-${i}`, quantity: 1, unit_price: 1000, tax_rate: 0 }));
    // VAT: one shipping fee line is added.
    expect(priced({ order_lines: cart(999), shipping_address: seAddress() }, vatRules()).order_lines).toHaveLength(1000);
    expect(priceOrder({ order_lines: cart(1000), shipping_address: seAddress(), selection: 'keep' }, vatRules())).toEqual({ ok: false, reason: 'too_many_lines' });
    // US sales tax: a shipping fee line and a sales_tax line are added.
    expect(priced({ order_lines: cart(998), shipping_address: usAddress() }, salesTaxRules()).order_lines).toHaveLength(1000);
    expect(priceOrder({ order_lines: cart(999), shipping_address: usAddress(), selection: 'keep' }, salesTaxRules())).toEqual({
      ok: false,
      reason: 'too_many_lines',
    });
    // Nothing added: 1000 lines stay 1000.
    expect(priced({ order_lines: cart(1000), shipping_address: seAddress() }, vatRules({ shipping_options: [], tax: undefined })).order_lines).toHaveLength(1000);
  });

  it('refuses an order whose total is positive but whose tax is negative (a discount taxed above the goods)', () => {
    // A gift card is outside VAT; the discount on it carries 25 %: order 5000, order tax −1000.
    const giftCard = line({ type: 'gift_card', reference: 'GC', name: 'Gift card', quantity: 1, unit_price: 10000, tax_rate: 0 });
    expect(priceOrder({ order_lines: [giftCard, discountLine(5000)], shipping_address: seAddress(), selection: 'keep' }, vatRules())).toEqual({
      ok: false,
      reason: 'below_min_amount',
    });
  });

  it('refuses an order whose discounts exceed the goods (negative total)', () => {
    const order = [line({ quantity: 1, unit_price: 1000 }), discountLine(2000)];
    expect(priceOrder({ order_lines: order, shipping_address: seAddress(), selection: 'keep' }, vatRules({ shipping_options: [] }))).toEqual({
      ok: false,
      reason: 'below_min_amount',
    });
  });
});
