/**
 * Money in integer minor units, tax rates in basis points (2500 = 25%). Klarna's consistency
 * checks live here in one place: the callbacks compute with these functions and `reconcile`
 * checks every answer we send, and every order we are asked to approve, the way Klarna does.
 */
import type { DiscountLine, OrderLine } from './order.js';

/** n / d rounded half away from zero, exactly, for integers n and d > 0 below 2^53. */
export const divideRounded = (n: number, d: number): number => {
  const magnitude = Math.abs(n);
  let quotient = Math.floor(magnitude / d);
  let remainder = magnitude - quotient * d;
  // Guard the float division: correct the quotient so that 0 <= remainder < d holds exactly.
  // For integers below 2^53 the float quotient never rounds to a wrong integer, so no test can
  // reach the correction: its mutants are equivalent (CONTRIBUTING.md, Mutation testing) and not counted.
  // Stryker disable all
  if (remainder < 0) {
    quotient -= 1;
    remainder += d;
  } else if (remainder >= d) {
    quotient += 1;
    remainder -= d;
  }
  // Stryker restore all
  if (2 * remainder >= d) quotient += 1;
  // No -0: Object.is and toEqual tell it from 0.
  return n < 0 && quotient !== 0 ? -quotient : quotient;
};

/**
 * Tax contained in a tax-inclusive amount, as Klarna defines it:
 * total − total × 10000 / (10000 + rate), rounded half away from zero (50000 at 1000 → 4545).
 */
export const includedTax = (totalAmount: number, taxRate: number): number =>
  totalAmount - divideRounded(totalAmount * 10000, 10000 + taxRate);

/** Tax on a tax-exclusive base (US sales tax): base × rate / 10000, rounded half away from zero. */
export const addedTax = (base: number, taxRate: number): number => divideRounded(base * taxRate, 10000);

/** Klarna's ±1 tolerance, exactly: |tax − total·rate/(10000+rate)| ≤ 1. */
export const taxWithinTolerance = (totalAmount: number, taxRate: number, totalTaxAmount: number): boolean => {
  const d = 10000 + taxRate;
  return Math.abs(totalTaxAmount * d - totalAmount * taxRate) <= d;
};

/** quantity × unit_price − total_discount_amount. */
export const expectedLineTotal = (line: Pick<OrderLine, 'quantity' | 'unit_price' | 'total_discount_amount'>): number =>
  line.quantity * line.unit_price - (line.total_discount_amount ?? 0);

export type ReconcileFailure = {
  reason: 'line_total_mismatch' | 'line_tax_mismatch' | 'discount_line_mismatch' | 'order_amount_mismatch' | 'order_tax_mismatch';
  /** Index of the offending line (in `discount_lines` for discount_line_mismatch). */
  line?: number;
};

/** Σ total_amount of Klarna's discount lines (≤ 0): what the discount service took off. */
export const klarnaDiscountTotal = (discountLines: readonly Pick<DiscountLine, 'total_amount'>[] | undefined): number => {
  let sum = 0;
  for (const line of discountLines ?? []) sum += line.total_amount;
  return sum;
};

/**
 * The totals Klarna checks: each line's total exact and its tax within ±1; order_amount = Σ line
 * totals; order_tax_amount = Σ line tax + Σ sales_tax line totals. Klarna's discount lines
 * (`total_amount = quantity × unit_price`, tax within ±1) count in both sums: the order amount is
 * "including tax and any available discounts". Undefined when all hold.
 */
export const reconcile = (order: {
  order_amount: number;
  order_tax_amount: number;
  order_lines: readonly OrderLine[];
  discount_lines?: readonly DiscountLine[];
}): ReconcileFailure | undefined => {
  let sumAmount = 0;
  let sumTax = 0;
  const lines = order.order_lines;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.total_amount !== expectedLineTotal(line)) return { reason: 'line_total_mismatch', line: i };
    if (!taxWithinTolerance(line.total_amount, line.tax_rate, line.total_tax_amount)) {
      return { reason: 'line_tax_mismatch', line: i };
    }
    sumAmount += line.total_amount;
    sumTax += line.type === 'sales_tax' ? line.total_tax_amount + line.total_amount : line.total_tax_amount;
  }
  const discounts = order.discount_lines ?? [];
  for (let i = 0; i < discounts.length; i++) {
    const line = discounts[i]!;
    if (line.total_amount !== line.quantity * line.unit_price || !taxWithinTolerance(line.total_amount, line.tax_rate, line.total_tax_amount)) {
      return { reason: 'discount_line_mismatch', line: i };
    }
    sumAmount += line.total_amount;
    sumTax += line.total_tax_amount;
  }
  if (order.order_amount !== sumAmount) return { reason: 'order_amount_mismatch' };
  if (order.order_tax_amount !== sumTax) return { reason: 'order_tax_mismatch' };
  return undefined;
};
