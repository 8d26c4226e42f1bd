import { addedTax, divideRounded, expectedLineTotal, includedTax, reconcile, taxWithinTolerance } from '../../functions/kco/money.js';
import fc from 'fast-check';
import type { DiscountLine, OrderLine } from '../../functions/kco/order.js';
import { klarnaViolations } from '../support/klarna-checks.js';
import { discountLine, line, salesTaxLine, shippingFeeLine, totalsOf } from '../support/orders.js';

/** Independent oracle: n / d rounded half away from zero in BigInt. */
const exactRounded = (n: bigint, d: bigint): bigint => {
  const magnitude = n < 0n ? -n : n;
  const q = magnitude / d + (2n * (magnitude % d) >= d ? 1n : 0n);
  return n < 0n ? -q : q;
};

describe('divideRounded', () => {
  it.each([
    [7, 2, 4],
    [5, 10, 1],
    [4, 10, 0],
    [15, 10, 2],
    [14, 10, 1],
    [-7, 2, -4],
    [-5, 10, -1],
    [-15, 10, -2],
    [-14, 10, -1],
    [0, 7, 0],
  ])('rounds %d / %d half away from zero to %d', (n, d, expected) => {
    expect(divideRounded(n, d)).toBe(expected);
  });

  it('returns plain 0, not -0, when a small negative amount rounds to nothing', () => {
    expect(Object.is(divideRounded(-4, 10), 0)).toBe(true);
    expect(Object.is(addedTax(-1, 725), 0)).toBe(true);
  });

  it.each([
    [100_000_000 * 10_000, 10_725],
    [99_999_999 * 10_000, 10_575],
    [-99_999_999 * 10_000, 10_575],
    [99_999_999 * 10_000 + 5362, 10_725],
    [123_456_789_012, 11_900],
    [Number.MAX_SAFE_INTEGER, 10_725],
    [Number.MAX_SAFE_INTEGER - 1, 2],
    [-Number.MAX_SAFE_INTEGER, 12_500],
  ])('is exact for the big value %d / %d', (n, d) => {
    expect(BigInt(divideRounded(n, d))).toBe(exactRounded(BigInt(n), BigInt(d)));
  });

  it('is exact at half-way points of big values', () => {
    // 2 × 10725 × q + 10725 over 2 × 10725 is exactly q + 0.5.
    const d = 2 * 10_725;
    const n = d * 419_580_000 + 10_725;
    expect(divideRounded(n, d)).toBe(419_580_001);
    expect(divideRounded(-n, d)).toBe(-419_580_001);
    expect(divideRounded(n - 1, d)).toBe(419_580_000);
  });
});

describe('includedTax (tax inside a tax-inclusive amount)', () => {
  it("gives Klarna's own example: 50000 at 10% contains 4545", () => {
    expect(includedTax(50000, 1000)).toBe(4545);
  });

  it.each([
    [12500, 2500, 2500],
    [10000, 2500, 2000],
    [11900, 1900, 1900],
    [10000, 1900, 1597], // 10000 / 1.19 = 8403.36
    [10600, 600, 600],
    [10000, 600, 566], // 10000 / 1.06 = 9433.96
    [11200, 1200, 1200],
    [4900, 2500, 980],
    [10000, 575, 544], // 10000 / 1.0575 = 9456.26
    [1999, 575, 109], // 1999 / 1.0575 = 1890.31
    [10000, 725, 676], // 10000 / 1.0725 = 9324.01
    [1999, 725, 135], // 1999 / 1.0725 = 1863.87
    [1, 2500, 0],
    [0, 2500, 0],
    [10000, 0, 0],
  ])('finds %d at rate %d contains %d', (total, rate, tax) => {
    expect(includedTax(total, rate)).toBe(tax);
  });

  it('rounds the net half away from zero at an exact half (1 at 100%)', () => {
    // Net 1 × 10000 / 20000 = 0.5 → 1, so the tax is 0; the same, mirrored, for −1.
    expect(includedTax(1, 10000)).toBe(0);
    expect(includedTax(-1, 10000)).toBe(0);
    expect(includedTax(3, 10000)).toBe(1); // net 1.5 → 2
    expect(includedTax(-3, 10000)).toBe(-1);
  });

  it.each([
    [-50000, 1000, -4545],
    [-2500, 1000, -227],
    [-10000, 725, -676],
    [-10000, 575, -544],
    [-4900, 2500, -980],
  ])('mirrors a discount %d at rate %d to negative tax %d', (total, rate, tax) => {
    expect(includedTax(total, rate)).toBe(tax);
  });

  it('is always within Klarna tolerance of the exact tax, for every awkward rate', () => {
    for (const rate of [0, 575, 600, 725, 1200, 1900, 2500, 10000]) {
      for (let total = -3000; total <= 3000; total += 7) {
        expect([total, rate, taxWithinTolerance(total, rate, includedTax(total, rate))]).toEqual([total, rate, true]);
      }
    }
  });
});

describe('addedTax (US sales tax on a tax-exclusive base)', () => {
  it.each([
    [10000, 725, 725],
    [9000, 725, 653], // 652.5 → 653
    [1999, 725, 145], // 144.93
    [200, 725, 15], // 14.5 → 15
    [1234, 575, 71], // 70.955
    [1000, 400, 40],
    [12345, 0, 0],
  ])('taxes %d at %d as %d', (base, rate, tax) => {
    expect(addedTax(base, rate)).toBe(tax);
  });

  it('rounds a negative base half away from zero', () => {
    expect(addedTax(-200, 725)).toBe(-15);
    expect(addedTax(-9000, 725)).toBe(-653);
  });

  it('is exact for a base of 1e11 at 7.25%', () => {
    expect(addedTax(100_000_000_001, 725)).toBe(7_250_000_000);
  });
});

describe('taxWithinTolerance (Klarna ±1)', () => {
  it('accepts exactly ±1 around an integral exact tax and refuses ±2', () => {
    // 12500 at 25% contains exactly 2500.
    expect(taxWithinTolerance(12500, 2500, 2500)).toBe(true);
    expect(taxWithinTolerance(12500, 2500, 2499)).toBe(true);
    expect(taxWithinTolerance(12500, 2500, 2501)).toBe(true);
    expect(taxWithinTolerance(12500, 2500, 2498)).toBe(false);
    expect(taxWithinTolerance(12500, 2500, 2502)).toBe(false);
  });

  it('passes just inside and fails just outside the boundary at 7.25%', () => {
    // 10000 at 725 contains 7 250 000 / 10 725 = 675.9907: 675 is 0.9907 away, 677 is 1.0093 away.
    expect(taxWithinTolerance(10000, 725, 675)).toBe(true);
    expect(taxWithinTolerance(10000, 725, 676)).toBe(true);
    expect(taxWithinTolerance(10000, 725, 677)).toBe(false);
    expect(taxWithinTolerance(10000, 725, 674)).toBe(false);
  });

  it('passes just inside and fails just outside the boundary at 5.75%', () => {
    // 10000 at 575 contains 5 750 000 / 10 575 = 543.7352: 543 and 544 are inside, 542 (1.74) and 545 (1.26) outside.
    expect(taxWithinTolerance(10000, 575, 544)).toBe(true);
    expect(taxWithinTolerance(10000, 575, 543)).toBe(true);
    expect(taxWithinTolerance(10000, 575, 542)).toBe(false);
    expect(taxWithinTolerance(10000, 575, 545)).toBe(false);
  });

  it("accepts Klarna's example and its neighbours and refuses two off", () => {
    expect(taxWithinTolerance(50000, 1000, 4545)).toBe(true);
    expect(taxWithinTolerance(50000, 1000, 4546)).toBe(true);
    expect(taxWithinTolerance(50000, 1000, 4544)).toBe(false); // 1.4545 away
    expect(taxWithinTolerance(50000, 1000, 4547)).toBe(false);
  });

  it('applies the same tolerance to negative discount lines', () => {
    expect(taxWithinTolerance(-50000, 1000, -4545)).toBe(true);
    expect(taxWithinTolerance(-50000, 1000, -4546)).toBe(true);
    expect(taxWithinTolerance(-50000, 1000, -4544)).toBe(false);
    expect(taxWithinTolerance(-12500, 2500, -2501)).toBe(true);
    expect(taxWithinTolerance(-12500, 2500, -2502)).toBe(false);
  });

  it('allows at most 1 of tax on a line without a rate', () => {
    expect(taxWithinTolerance(10000, 0, 0)).toBe(true);
    expect(taxWithinTolerance(10000, 0, 1)).toBe(true);
    expect(taxWithinTolerance(10000, 0, 2)).toBe(false);
  });
});

describe('expectedLineTotal', () => {
  it('is quantity × unit_price − total_discount_amount, discount absent meaning 0', () => {
    expect(expectedLineTotal({ quantity: 3, unit_price: 1999, total_discount_amount: 500 })).toBe(5497);
    expect(expectedLineTotal({ quantity: 3, unit_price: 1999 })).toBe(5997);
    expect(expectedLineTotal({ quantity: 1, unit_price: -2500, total_discount_amount: 0 })).toBe(-2500);
  });
});

describe('reconcile', () => {
  const goods = [
    line({ quantity: 2, unit_price: 12500, tax_rate: 2500 }), // 25000, tax 5000
    discountLine(2500, { tax_rate: 2500 }), // −2500, tax −500
    shippingFeeLine(4900, { tax_rate: 2500 }), // 4900, tax 980
  ];

  it('passes a VAT order whose totals are the sums of its lines', () => {
    expect(goods.map((l) => [l.total_amount, l.total_tax_amount])).toEqual([
      [25000, 5000],
      [-2500, -500],
      [4900, 980],
    ]);
    expect(reconcile({ order_amount: 27400, order_tax_amount: 5480, order_lines: goods })).toBeUndefined();
  });

  it('reports line_total_mismatch with the index of the line whose total is not quantity × price − discount', () => {
    const lines = [goods[0]!, { ...goods[1]!, total_amount: -2499 }, goods[2]!];
    expect(reconcile({ ...totalsOf(lines), order_lines: lines })).toEqual({ reason: 'line_total_mismatch', line: 1 });
  });

  it('counts the line discount into the line total', () => {
    const discounted = line({ quantity: 2, unit_price: 12500, total_discount_amount: 5000 });
    expect(discounted.total_amount).toBe(20000);
    expect(reconcile({ ...totalsOf([discounted]), order_lines: [discounted] })).toBeUndefined();
    const ignoringDiscount = { ...discounted, total_amount: 25000, total_tax_amount: 5000 };
    expect(reconcile({ ...totalsOf([ignoringDiscount]), order_lines: [ignoringDiscount] })).toEqual({
      reason: 'line_total_mismatch',
      line: 0,
    });
  });

  it('reports line_tax_mismatch with the index of the line whose tax is 2 off', () => {
    const lines = [goods[0]!, goods[1]!, { ...goods[2]!, total_tax_amount: 982 }];
    expect(reconcile({ ...totalsOf(lines), order_lines: lines })).toEqual({ reason: 'line_tax_mismatch', line: 2 });
  });

  it('accepts a line tax 1 off (Klarna tolerance) when the order tax sums it', () => {
    const lines = [goods[0]!, goods[1]!, { ...goods[2]!, total_tax_amount: 981 }];
    expect(reconcile({ order_amount: 27400, order_tax_amount: 5481, order_lines: lines })).toBeUndefined();
  });

  it('reports the first failing line when several fail', () => {
    const lines = [goods[0]!, { ...goods[1]!, total_tax_amount: 0 }, { ...goods[2]!, total_amount: 1 }];
    expect(reconcile({ ...totalsOf(lines), order_lines: lines })).toEqual({ reason: 'line_tax_mismatch', line: 1 });
  });

  it('reports order_amount_mismatch when order_amount is 1 off the sum', () => {
    expect(reconcile({ order_amount: 27401, order_tax_amount: 5480, order_lines: goods })).toEqual({ reason: 'order_amount_mismatch' });
    expect(reconcile({ order_amount: 27399, order_tax_amount: 5480, order_lines: goods })).toEqual({ reason: 'order_amount_mismatch' });
  });

  it('reports order_tax_mismatch when order_tax_amount is 1 off the sum', () => {
    expect(reconcile({ order_amount: 27400, order_tax_amount: 5479, order_lines: goods })).toEqual({ reason: 'order_tax_mismatch' });
  });

  it('reports order_amount_mismatch for an order that ignores its negative discount line', () => {
    expect(reconcile({ order_amount: 29900, order_tax_amount: 5980, order_lines: goods })).toEqual({ reason: 'order_amount_mismatch' });
  });

  it('counts a sales_tax line into order_tax_amount (US style)', () => {
    const lines = [
      line({ quantity: 2, unit_price: 5000, tax_rate: 0 }), // 10000
      discountLine(1000, { tax_rate: 0 }), // −1000
      salesTaxLine(653), // 9000 × 7.25%
    ];
    expect(reconcile({ order_amount: 9653, order_tax_amount: 653, order_lines: lines })).toBeUndefined();
    expect(reconcile({ order_amount: 9653, order_tax_amount: 0, order_lines: lines })).toEqual({ reason: 'order_tax_mismatch' });
    expect(reconcile({ order_amount: 9000, order_tax_amount: 653, order_lines: lines })).toEqual({ reason: 'order_amount_mismatch' });
  });

  describe("with Klarna's discount lines", () => {
    const goods = [line({ quantity: 2, unit_price: 12500, tax_rate: 2500 })]; // 25000, tax 5000
    const klarnaDiscount = (amount: number, overrides: Partial<DiscountLine> = {}): DiscountLine => ({
      name: 'Campaign',
      quantity: 1,
      unit_price: -amount,
      tax_rate: 2500,
      total_amount: -amount,
      total_tax_amount: includedTax(-amount, 2500),
      ...overrides,
    });

    it('counts each discount line into order_amount and order_tax_amount', () => {
      const discounts = [klarnaDiscount(5000), klarnaDiscount(2500)]; // −5000 tax −1000, −2500 tax −500
      expect(reconcile({ order_amount: 17500, order_tax_amount: 3500, order_lines: goods, discount_lines: discounts })).toBeUndefined();
      expect(reconcile({ order_amount: 25000, order_tax_amount: 5000, order_lines: goods, discount_lines: discounts })).toEqual({ reason: 'order_amount_mismatch' });
    });

    it('reports discount_line_mismatch with the index of a discount whose total is not quantity × unit_price', () => {
      // Its tax is right for the total it claims, and the order totals sum it: only the total is wrong.
      const discounts = [klarnaDiscount(5000), klarnaDiscount(2500, { quantity: 2, total_tax_amount: -500 })];
      expect(reconcile({ order_amount: 17500, order_tax_amount: 3500, order_lines: goods, discount_lines: discounts })).toEqual({
        reason: 'discount_line_mismatch',
        line: 1,
      });
    });

    it('reports discount_line_mismatch for a discount whose tax is 2 off, and accepts 1 off', () => {
      const twoOff = [klarnaDiscount(5000, { total_tax_amount: -1002 })];
      expect(reconcile({ order_amount: 20000, order_tax_amount: 3998, order_lines: goods, discount_lines: twoOff })).toEqual({
        reason: 'discount_line_mismatch',
        line: 0,
      });
      const oneOff = [klarnaDiscount(5000, { total_tax_amount: -1001 })];
      expect(reconcile({ order_amount: 20000, order_tax_amount: 3999, order_lines: goods, discount_lines: oneOff })).toBeUndefined();
    });
  });

  it('passes an empty order with zero totals', () => {
    expect(reconcile({ order_amount: 0, order_tax_amount: 0, order_lines: [] })).toBeUndefined();
  });
});

describe('reconcile against the independent BigInt check (test/support/klarna-checks.ts)', () => {
  /** A line whose total and tax may be off by a little, on either side of Klarna's limits. */
  const nearlyRightLine = fc
    .record({
      type: fc.constantFrom<OrderLine['type']>('physical', 'digital', 'shipping_fee', 'sales_tax'),
      quantity: fc.integer({ min: 1, max: 50 }),
      unit_price: fc.integer({ min: 0, max: 200_000 }),
      discount: fc.integer({ min: 0, max: 5_000 }),
      tax_rate: fc.constantFrom(0, 575, 725, 1200, 1900, 2500),
      totalOff: fc.constantFrom(0, 0, 0, 0, 1, -1),
      taxOff: fc.integer({ min: -2, max: 2 }),
    })
    .map(({ type, quantity, unit_price, discount, tax_rate, totalOff, taxOff }): OrderLine => {
      const total = Math.max(0, quantity * unit_price - discount);
      const tax = type === 'sales_tax' ? 0 : Math.round((total * tax_rate) / (10000 + tax_rate));
      return {
        type,
        name: 'x',
        quantity,
        unit_price,
        tax_rate: type === 'sales_tax' ? 0 : tax_rate,
        total_amount: total + totalOff,
        total_discount_amount: quantity * unit_price - total,
        total_tax_amount: tax + taxOff,
      };
    });

  it('accepts exactly the orders Klarna accepts, line by line and in the totals', () => {
    let accepted = 0;
    fc.assert(
      fc.property(fc.array(nearlyRightLine, { maxLength: 6 }), fc.constantFrom(0, 0, 0, 1, -1), fc.constantFrom(0, 0, 0, 1, -1), (lines, amountOff, taxOff) => {
        const totals = totalsOf(lines);
        const order = { order_lines: lines, order_amount: Math.max(0, totals.order_amount + amountOff), order_tax_amount: Math.max(0, totals.order_tax_amount + taxOff) };
        const independent = klarnaViolations(order);
        if (independent.length === 0) accepted++;
        expect({ order, accepted: reconcile(order) === undefined }).toEqual({ order, accepted: independent.length === 0 });
      }),
      { numRuns: 400 },
    );
    // Both sides of the line must be explored, or the agreement proves little.
    expect(accepted).toBeGreaterThan(20);
    expect(accepted).toBeLessThan(380);
  });
});
