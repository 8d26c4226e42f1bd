/**
 * The check of Klarna's order against that order's rules before we acknowledge it: the same
 * comparison validation makes. Written against the signature of `checkExpectedOrder` in
 * functions/kco/expected-order.ts (the decisions issue); until that lands, this adapter compares
 * what today's rules hold: `expected_order_amount` and `purchase_currency`.
 */
import type { MerchantRules } from '../kco/rules.js';

export type ExpectedOrderInput = {
  readonly order_amount: number;
  readonly purchase_currency: string;
  readonly order_lines: readonly unknown[];
  readonly discount_lines?: readonly unknown[];
};

export type ExpectedOrderVerdict =
  | { ok: true }
  | { ok: false; reason: 'expected_amount_mismatch' | 'cart_mismatch' | 'currency_mismatch'; line?: number };

export const checkExpectedOrder = (order: ExpectedOrderInput, rules: MerchantRules): ExpectedOrderVerdict => {
  if (rules.purchase_currency !== undefined && rules.purchase_currency.toUpperCase() !== order.purchase_currency.toUpperCase()) {
    return { ok: false, reason: 'currency_mismatch' };
  }
  // At push time Klarna's order_amount equals original_order_amount: nothing is captured yet.
  if (rules.expected_order_amount !== undefined && rules.expected_order_amount !== order.order_amount) {
    return { ok: false, reason: 'expected_amount_mismatch' };
  }
  return { ok: true };
};
