/**
 * Pure: the order against what the shop agreed to when it created it (the `order#<id>` scope):
 * the currency, the total before Klarna's discounts and, line by line, the cart. Validation asks
 * this before approving; the order lifecycle asks it again of the order Klarna finally placed.
 */
import { computedByRules } from './cart.js';
import { klarnaDiscountTotal } from './money.js';
import type { DiscountLine, OrderLine } from './order.js';
import type { ExpectedOrderLine, MerchantRules } from './rules.js';

export type OrderToCompare = {
  order_amount: number;
  purchase_currency: string;
  order_lines: readonly OrderLine[];
  discount_lines?: readonly Pick<DiscountLine, 'total_amount'>[];
};

export type ExpectedOrderCheck =
  | { ok: true }
  | { ok: false; reason: 'expected_amount_mismatch' | 'cart_mismatch' | 'currency_mismatch'; line?: number };

type CartLine = Pick<OrderLine, 'reference' | 'quantity' | 'total_amount' | 'unit_price' | 'total_discount_amount'>;

// Lines are bucketed by what every expected line names; within a bucket, the expected lines that
// also name a price are matched first, so a looser expectation never takes the line a stricter
// one needs. (Given quantity and total, unit_price and total_discount_amount fix each other, so
// "names a price" is one level, and first-fit within it is a complete matching.)
const bucketOf = (line: { reference?: string | undefined; quantity: number; total_amount: number }): string =>
  `${line.quantity}|${line.total_amount}|${line.reference ?? ''}`;

const namesPrice = (expected: ExpectedOrderLine): boolean =>
  expected.unit_price !== undefined || expected.total_discount_amount !== undefined;

const fits = (line: CartLine, expected: ExpectedOrderLine): boolean =>
  (expected.unit_price === undefined || line.unit_price === expected.unit_price) &&
  (expected.total_discount_amount === undefined || (line.total_discount_amount ?? 0) === expected.total_discount_amount);

/**
 * The order's own lines (all but those the rules compute) equal the expected lines as a multiset.
 * Returns the index in `order_lines` of the first line left over, -1 when every order line found
 * its match but expected lines remain, undefined when the two are equal.
 */
export const cartDifference = (
  lines: readonly OrderLine[],
  expected: readonly ExpectedOrderLine[],
  rules: MerchantRules,
): number | undefined => {
  const open = new Map<string, { strict: ExpectedOrderLine[]; loose: ExpectedOrderLine[] }>();
  for (const want of expected) {
    const key = bucketOf(want);
    const bucket = open.get(key) ?? { strict: [], loose: [] };
    (namesPrice(want) ? bucket.strict : bucket.loose).push(want);
    open.set(key, bucket);
  }
  let unmatched = expected.length;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (computedByRules(line, rules)) continue;
    const bucket = open.get(bucketOf(line));
    if (!bucket) return i;
    const strict = bucket.strict.findIndex((want) => fits(line, want));
    if (strict >= 0) bucket.strict.splice(strict, 1);
    else if (bucket.loose.length > 0) bucket.loose.pop();
    else return i;
    unmatched -= 1;
  }
  return unmatched === 0 ? undefined : -1;
};

export const checkExpectedOrder = (order: OrderToCompare, rules: MerchantRules): ExpectedOrderCheck => {
  if (rules.purchase_currency !== undefined && order.purchase_currency.toUpperCase() !== rules.purchase_currency) {
    return { ok: false, reason: 'currency_mismatch' };
  }
  // The shop's total is before Klarna's discount service; its discount lines are ≤ 0.
  if (rules.expected_order_amount !== undefined && order.order_amount - klarnaDiscountTotal(order.discount_lines) !== rules.expected_order_amount) {
    return { ok: false, reason: 'expected_amount_mismatch' };
  }
  if (rules.expected_order_lines !== undefined) {
    const line = cartDifference(order.order_lines, rules.expected_order_lines, rules);
    if (line !== undefined) return { ok: false, reason: 'cart_mismatch', ...(line >= 0 ? { line } : {}) };
  }
  return { ok: true };
};
