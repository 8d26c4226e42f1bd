/**
 * Property tests of the one rule that matters most: every order we price passes Klarna's checks,
 * and validation approves exactly what we priced and nothing changed from it.
 */
import fc from 'fast-check';
import { addressUpdate } from '../../functions/kco/callbacks.js';
import { priceOrder, type PricedOrder } from '../../functions/kco/cart.js';
import { validateOrder } from '../../functions/kco/checks.js';
import { includedTax, taxWithinTolerance } from '../../functions/kco/money.js';
import type { Address, OrderLine, OrderLineType, ValidationOrder } from '../../functions/kco/order.js';
import { rulesSchemas, type MerchantRules, type ReasonCode, type ShippingOptionRule, type TaxRules } from '../../functions/kco/rules.js';
import { orderFromPriced, totalsOf } from '../support/orders.js';
import { klarnaViolations } from '../support/klarna-checks.js';

const RATES = [0, 600, 1200, 1900, 2500, 575, 725];
const SKUS = ['SKU-A', 'SKU-B', 'SKU-C', 'FOOD', 'BOOK'];
const OPTION_IDS = ['standard', 'express', 'pickup', 'locker', 'freight'];
const VAT_COUNTRIES = ['SE', 'DE', 'FI', 'NO'];
const ALL_COUNTRIES = [...VAT_COUNTRIES, 'US'];
const RECONCILE_REASONS: readonly ReasonCode[] = ['line_total_mismatch', 'line_tax_mismatch', 'order_amount_mismatch', 'order_tax_mismatch'];

const rate = fc.constantFrom(...RATES);

/** Tax for a line: what we would compute, sometimes 1 off where Klarna's tolerance allows it. */
const taxFor = (total: number, taxRate: number, nudge: number): number => {
  const tax = includedTax(total, taxRate);
  return taxWithinTolerance(total, taxRate, tax + nudge) ? tax + nudge : tax;
};

const goodsLine = fc
  .record({
    type: fc.constantFrom<OrderLineType | undefined>(undefined, 'physical', 'physical', 'physical', 'digital', 'gift_card', 'surcharge'),
    reference: fc.option(fc.constantFrom(...SKUS), { nil: undefined }),
    quantity: fc.integer({ min: 1, max: 100 }),
    unit_price: fc.integer({ min: 0, max: 1_000_000 }),
    discountPercent: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 100 }) }),
    tax_rate: rate,
    nudge: fc.constantFrom(0, 0, 0, 1, -1),
  })
  .map(({ discountPercent, nudge, ...l }): OrderLine => {
    const gross = l.quantity * l.unit_price;
    const discount = Math.floor((gross * discountPercent) / 100);
    const total = gross - discount;
    return {
      ...(l.type !== undefined ? { type: l.type } : {}),
      ...(l.reference !== undefined ? { reference: l.reference } : {}),
      name: 'Item',
      quantity: l.quantity,
      unit_price: l.unit_price,
      tax_rate: l.tax_rate,
      total_amount: total,
      total_discount_amount: discount,
      total_tax_amount: taxFor(total, l.tax_rate, nudge),
    };
  });

/** Negative lines: discounts and store credit, as Klarna expects them (negative price and tax). */
const negativeLine = fc
  .record({ type: fc.constantFrom<OrderLineType>('discount', 'discount', 'store_credit'), amount: fc.integer({ min: 0, max: 100_000 }), tax_rate: rate })
  .map(({ type, amount, tax_rate }): OrderLine => ({
    type,
    reference: type === 'discount' ? 'COUPON' : 'CREDIT',
    name: type === 'discount' ? 'Discount' : 'Store credit',
    quantity: 1,
    unit_price: -amount,
    tax_rate,
    total_amount: -amount,
    total_discount_amount: 0,
    total_tax_amount: includedTax(-amount, tax_rate),
  }));

/** Lines we compute ourselves, as a shop or an earlier answer may have sent them: they get replaced. */
const computedLine = fc
  .record({ type: fc.constantFrom<OrderLineType>('shipping_fee', 'sales_tax'), amount: fc.integer({ min: 0, max: 50_000 }) })
  .map(({ type, amount }): OrderLine => ({
    type,
    reference: type,
    name: type,
    quantity: 1,
    unit_price: amount,
    tax_rate: 0,
    total_amount: amount,
    total_discount_amount: 0,
    total_tax_amount: 0,
  }));

const orderLines = fc.array(
  fc.oneof({ weight: 8, arbitrary: goodsLine }, { weight: 2, arbitrary: negativeLine }, { weight: 1, arbitrary: computedLine }),
  { minLength: 1, maxLength: 50 },
);

const shippingOption = fc
  .record(
    {
      id: fc.constantFrom(...OPTION_IDS),
      price: fc.integer({ min: 0, max: 200_000 }),
      tax_rate: rate,
      countries: fc.subarray(ALL_COUNTRIES, { minLength: 1 }),
      free_over: fc.integer({ min: 0, max: 2_000_000 }),
      preselected: fc.boolean(),
    },
    { requiredKeys: ['id', 'price', 'tax_rate'] },
  )
  .map((o): ShippingOptionRule => ({ name: `Option ${o.id}`, ...o }));

const shippingOptions = fc.option(fc.uniqueArray(shippingOption, { selector: (o) => o.id, maxLength: 4 }), { nil: undefined });

const vatTax = fc
  .record({
    rates: fc.record({ SE: rate, DE: rate, FI: rate, NO: rate }, { requiredKeys: ['SE', 'DE'] }),
    reference_rates: fc.option(fc.dictionary(fc.constantFrom(...SKUS), fc.record({ SE: rate, DE: rate, FI: rate }, { requiredKeys: [] }), { maxKeys: 3 }), {
      nil: undefined,
    }),
  })
  .map(({ rates, reference_rates }): TaxRules => ({ mode: 'vat', rates, ...(reference_rates ? { reference_rates } : {}) }));

const salesTax = fc
  .record({
    rates: fc.record({ 'US-CA': rate, 'US-NY': rate, US: rate }, { requiredKeys: ['US-CA'] }),
    tax_shipping: fc.option(fc.boolean(), { nil: undefined }),
  })
  .map(({ rates, tax_shipping }): TaxRules => ({ mode: 'sales_tax', rates, ...(tax_shipping !== undefined ? { tax_shipping } : {}) }));

const address = (countries: readonly string[]) =>
  fc
    .record({ country: fc.constantFrom(...countries), region: fc.constantFrom('CA', 'NY', 'TX', undefined) })
    .map(({ country, region }): Address => ({
      street_address: 'Storgatan 3',
      postal_code: '11335',
      city: 'Town',
      country,
      ...(country === 'US' && region !== undefined ? { region } : {}),
    }));

/** Rules and a destination that fits their tax mode (VAT to Europe, sales tax to the US). */
const scenario = fc.oneof(
  { weight: 4, arbitrary: fc.record({ tax: vatTax, shipping_address: address(VAT_COUNTRIES) }) },
  { weight: 3, arbitrary: fc.record({ tax: salesTax, shipping_address: address(['US']) }) },
  { weight: 1, arbitrary: fc.record({ tax: fc.constant(undefined), shipping_address: address(ALL_COUNTRIES) }) },
);

const pricingCase = fc.record({
  scenario,
  shipping_options: shippingOptions,
  order_lines: orderLines,
  selected: fc.option(fc.constantFrom(...OPTION_IDS), { nil: undefined }),
});

type PricingCase = typeof pricingCase extends fc.Arbitrary<infer T> ? T : never;

const rulesOf = (c: PricingCase): MerchantRules => ({
  ...(c.scenario.tax ? { tax: c.scenario.tax } : {}),
  ...(c.shipping_options ? { shipping_options: c.shipping_options } : {}),
});

const price = (c: PricingCase, rules: MerchantRules = rulesOf(c)) =>
  priceOrder(
    {
      order_lines: c.order_lines,
      shipping_address: c.scenario.shipping_address,
      ...(c.selected !== undefined ? { selected_shipping_option_id: c.selected } : {}),
      selection: 'keep',
    },
    rules,
  );

const isPhysical = (l: OrderLine): boolean => l.type === undefined || l.type === 'physical';

const validationOrderOf = (order: PricedOrder, c: PricingCase, customer?: 'person' | 'organization'): ValidationOrder =>
  orderFromPriced(order, {
    shipping_address: c.scenario.shipping_address,
    purchase_currency: c.scenario.tax?.mode === 'sales_tax' ? 'USD' : 'EUR',
    ...(customer ? { customer: { type: customer } } : {}),
  });

const limits = fc.record(
  {
    min_order_amount: fc.integer({ min: 0, max: 5_000_000 }),
    max_order_amount: fc.integer({ min: 0, max: 100_000_000 }),
    max_quantity_per_line: fc.integer({ min: 1, max: 100 }),
    denied_references: fc.subarray(SKUS),
    allowed_customer_types: fc.subarray<'person' | 'organization'>(['person', 'organization'], { minLength: 1 }),
    expected_order_amount: fc.oneof(fc.constant('exact' as const), fc.integer({ min: 0, max: 10_000_000 })),
  },
  { requiredKeys: [] },
);

type Limits = typeof limits extends fc.Arbitrary<infer T> ? T : never;

/** The limits as rules, and the reasons (if any) an order breaks them for. */
const applyLimits = (spec: Limits, order: ValidationOrder): { rules: MerchantRules; broken: Set<ReasonCode> } => {
  const { expected_order_amount: expected, ...rest } = spec;
  const rules: MerchantRules = {
    ...rest,
    ...(expected !== undefined ? { expected_order_amount: expected === 'exact' ? order.order_amount : expected } : {}),
  };
  const broken = new Set<ReasonCode>();
  const amount = order.order_amount;
  if (rules.min_order_amount !== undefined && amount < rules.min_order_amount) broken.add('below_min_amount');
  if (rules.max_order_amount !== undefined && amount > rules.max_order_amount) broken.add('above_max_amount');
  for (const l of order.order_lines) {
    const limited = l.type === undefined || l.type === 'physical' || l.type === 'digital';
    if (rules.max_quantity_per_line !== undefined && limited && l.quantity > rules.max_quantity_per_line) broken.add('quantity_exceeded');
    if (l.reference !== undefined && rules.denied_references?.includes(l.reference)) broken.add('denied_reference');
  }
  if (rules.allowed_customer_types && !rules.allowed_customer_types.includes(order.customer?.type ?? 'person')) broken.add('customer_type_not_allowed');
  if (rules.expected_order_amount !== undefined && rules.expected_order_amount !== amount) broken.add('expected_amount_mismatch');
  return { rules, broken };
};

const runs = { numRuns: 400 };

describe('priceOrder, for generated orders and rules', () => {
  it('generates valid rules documents', () => {
    fc.assert(
      fc.property(pricingCase, (c) => {
        expect(rulesSchemas().merchantRules.safeParse(rulesOf(c)).success).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  it('answers an order that reconciles, with non-negative integer totals, or refuses for a reason a merchant can act on', () => {
    let priced = 0;
    fc.assert(
      fc.property(pricingCase, (c) => {
        const result = price(c);
        if (!result.ok) {
          expect(['no_tax_rate', 'no_shipping_option', 'below_min_amount', 'empty_order']).toContain(result.reason);
          return;
        }
        priced++;
        const { order } = result;
        expect(klarnaViolations(order)).toEqual([]);
        expect(Number.isSafeInteger(order.order_amount) && order.order_amount >= 0).toBe(true);
        expect(Number.isSafeInteger(order.order_tax_amount) && order.order_tax_amount >= 0).toBe(true);

        const fees = order.order_lines.filter((l) => l.type === 'shipping_fee');
        const pricesShipping = (c.shipping_options?.length ?? 0) > 0;
        const needsFee = c.order_lines.some(isPhysical) && pricesShipping;
        // Without shipping options in the rules, the merchant's own fee lines are kept as sent.
        const ownFees = pricesShipping ? 0 : c.order_lines.filter((l) => l.type === 'shipping_fee').length;
        expect(fees).toHaveLength(needsFee ? 1 : ownFees);
        expect(order.selected_shipping_option !== undefined).toBe(needsFee);
        if (needsFee) {
          expect(order.shipping_options?.filter((o) => o.preselected).map((o) => o.id)).toEqual([order.selected_shipping_option?.id]);
          expect(fees[0]?.total_amount).toBe(order.selected_shipping_option?.price);
        }

        // The goods lines come back in order with their amounts untouched.
        const goodsIn = c.order_lines.filter((l) => l.type !== 'shipping_fee' && l.type !== 'sales_tax');
        const goodsOut = order.order_lines.filter((l) => l.type !== 'shipping_fee' && l.type !== 'sales_tax');
        expect(goodsOut.map((l) => [l.quantity, l.unit_price, l.total_amount])).toEqual(goodsIn.map((l) => [l.quantity, l.unit_price, l.total_amount]));

        const salesTaxLines = order.order_lines.filter((l) => l.type === 'sales_tax');
        if (c.scenario.tax?.mode === 'sales_tax') {
          expect(salesTaxLines.map((l) => l.name)).toEqual(['Sales Tax']);
          expect(order.order_tax_amount).toBe(salesTaxLines[0]?.total_amount);
          expect(order.order_lines.every((l) => l.tax_rate === 0 && l.total_tax_amount === 0)).toBe(true);
        } else if (c.scenario.tax?.mode === 'vat') {
          expect(salesTaxLines).toEqual([]);
        } else {
          // Without tax rules a sales_tax line is the merchant's own: kept as sent.
          expect(salesTaxLines).toEqual(c.order_lines.filter((l) => l.type === 'sales_tax'));
        }
      }),
      runs,
    );
    // Most generated cases must be priced, or the property proves little.
    expect(priced).toBeGreaterThan(runs.numRuns / 2);
  });

  it('answers address_update with the same order it priced', () => {
    fc.assert(
      fc.property(pricingCase, (c) => {
        const rules = rulesOf(c);
        const result = price(c, rules);
        fc.pre(result.ok);
        const outcome = addressUpdate(
          {
            order_amount: 0,
            order_tax_amount: 0,
            order_lines: c.order_lines,
            purchase_currency: 'EUR',
            shipping_address: c.scenario.shipping_address,
            ...(c.selected !== undefined ? { selected_shipping_option: { id: c.selected } } : {}),
          },
          rules,
        );
        expect(outcome.kind).toBe('update');
        if (outcome.kind !== 'update' || !result.ok) return;
        expect(klarnaViolations(outcome.body)).toEqual([]);
        expect(outcome.body.order_lines).toEqual(result.order.order_lines);
        expect([outcome.body.order_amount, outcome.body.order_tax_amount]).toEqual([result.order.order_amount, result.order.order_tax_amount]);
      }),
      { numRuns: 200 },
    );
  });
});

describe('validateOrder, for orders assembled from priceOrder’s answer', () => {
  it('approves exactly when the rules’ limits allow the order, else denies for a limit it breaks', () => {
    let approved = 0;
    fc.assert(
      fc.property(pricingCase, limits, fc.option(fc.constantFrom<'person' | 'organization'>('person', 'organization'), { nil: undefined }), (c, spec, customer) => {
        const result = price(c);
        fc.pre(result.ok);
        if (!result.ok) return;
        const order = validationOrderOf(result.order, c, customer);
        const { rules: limitRules, broken } = applyLimits(spec, order);
        const verdict = validateOrder(order, { ...rulesOf(c), ...limitRules });
        if (broken.size === 0) {
          expect(verdict).toEqual({ approve: true });
          approved++;
        } else {
          expect(verdict.approve).toBe(false);
          if (!verdict.approve) expect([...broken]).toContain(verdict.reason);
        }
      }),
      runs,
    );
    expect(approved).toBeGreaterThan(0);
  });

  it('approves every priced order under rules without limits', () => {
    fc.assert(
      fc.property(pricingCase, (c) => {
        const result = price(c);
        fc.pre(result.ok);
        if (!result.ok) return;
        expect(validateOrder(validationOrderOf(result.order, c), rulesOf(c))).toEqual({ approve: true });
      }),
      runs,
    );
  });

  type Mutation = 'order_amount' | 'order_tax_amount' | 'total_amount' | 'unit_price' | 'total_tax_amount' | 'total_discount_amount' | 'quantity';

  it('denies an order with one amount changed by k (k ≥ 2 for line tax, k ≥ 1 otherwise), for a totals reason', () => {
    fc.assert(
      fc.property(
        pricingCase,
        fc.constantFrom<Mutation>('order_amount', 'order_tax_amount', 'total_amount', 'unit_price', 'total_tax_amount', 'total_discount_amount', 'quantity'),
        fc.nat(),
        fc.integer({ min: 1, max: 100_000 }),
        fc.boolean(),
        (c, field, lineSeed, size, negative) => {
          const result = price(c);
          fc.pre(result.ok);
          if (!result.ok) return;
          const order = validationOrderOf(result.order, c);
          fc.pre(order.order_lines.length > 0);
          const index = lineSeed % order.order_lines.length;
          const target = order.order_lines[index]!;
          const k = (field === 'total_tax_amount' ? Math.max(2, size) : size) * (negative ? -1 : 1);
          let mutated: ValidationOrder;
          if (field === 'order_amount' || field === 'order_tax_amount') {
            mutated = { ...order, [field]: order[field] + k };
          } else {
            // Changing quantity by k only changes the total when the unit price is not 0; the
            // unit price only when the quantity is not 0.
            fc.pre(!(field === 'quantity' && target.unit_price === 0));
            fc.pre(!(field === 'unit_price' && target.quantity === 0));
            const current = field === 'total_discount_amount' ? (target.total_discount_amount ?? 0) : target[field];
            mutated = { ...order, order_lines: order.order_lines.map((l, i) => (i === index ? { ...l, [field]: current + k } : l)) };
          }
          const verdict = validateOrder(mutated, rulesOf(c));
          expect(verdict.approve).toBe(false);
          if (!verdict.approve) expect(RECONCILE_REASONS).toContain(verdict.reason);
        },
      ),
      runs,
    );
  });

  it('denies a VAT order whose goods line carries another rate (tax and totals kept consistent): tax_mismatch on that line', () => {
    fc.assert(
      fc.property(pricingCase, fc.nat(), rate, (c, lineSeed, otherRate) => {
        fc.pre(c.scenario.tax?.mode === 'vat');
        const result = price(c);
        fc.pre(result.ok);
        if (!result.ok) return;
        const order = validationOrderOf(result.order, c);
        const goods = order.order_lines.flatMap((l, i) => (l.type === 'shipping_fee' || l.type === 'sales_tax' ? [] : [i]));
        fc.pre(goods.length > 0);
        const index = goods[lineSeed % goods.length]!;
        const target = order.order_lines[index]!;
        fc.pre(otherRate !== target.tax_rate);
        const lines = order.order_lines.map((l, i) =>
          i === index ? { ...l, tax_rate: otherRate, total_tax_amount: includedTax(l.total_amount, otherRate) } : l,
        );
        expect(validateOrder({ ...order, order_lines: lines, ...totalsOf(lines) }, rulesOf(c))).toEqual({
          approve: false,
          reason: 'tax_mismatch',
          line: index,
        });
      }),
      runs,
    );
  });

  it('denies an order whose shipping fee or sales tax line is changed by k (totals kept consistent)', () => {
    fc.assert(
      fc.property(pricingCase, fc.constantFrom<OrderLineType>('shipping_fee', 'sales_tax'), fc.integer({ min: 1, max: 10_000 }), fc.boolean(), (c, type, size, negative) => {
        // Without tax rules a sales_tax line is the merchant's own, without shipping options a
        // shipping_fee line is: only the lines we compute are checked against the rules.
        fc.pre(type === 'shipping_fee' ? (c.shipping_options?.length ?? 0) > 0 : c.scenario.tax?.mode === 'sales_tax');
        const result = price(c);
        fc.pre(result.ok);
        if (!result.ok) return;
        const order = validationOrderOf(result.order, c);
        const index = order.order_lines.findIndex((l) => l.type === type);
        fc.pre(index >= 0);
        const target = order.order_lines[index]!;
        const amount = target.total_amount + (negative ? -size : size);
        const lines = order.order_lines.map((l, i) =>
          i === index ? { ...l, unit_price: amount, total_amount: amount, total_tax_amount: includedTax(amount, l.tax_rate) } : l,
        );
        fc.pre(totalsOf(lines).order_amount >= 0);
        expect(validateOrder({ ...order, order_lines: lines, ...totalsOf(lines) }, rulesOf(c))).toEqual({
          approve: false,
          reason: type === 'shipping_fee' ? 'shipping_fee_mismatch' : 'tax_mismatch',
        });
      }),
      runs,
    );
  });
});
