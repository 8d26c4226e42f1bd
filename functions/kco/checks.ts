/**
 * Pure: the validation callback's checks. Approve only when the order reconciles the way Klarna
 * checks it (its discount lines included), buys something, its addresses pass the rules, its
 * shipping fee and tax are exactly what `priceOrder` computes for it, every limit in the rules
 * holds and it is the order the shop agreed to. The first failing check names the reason.
 */
import { checkBillingCountry, checkShippingAddress } from './address.js';
import { hasPurchase, priceOrder } from './cart.js';
import { checkExpectedOrder } from './expected-order.js';
import { reconcile } from './money.js';
import type { OrderLine, ValidationOrder } from './order.js';
import type { MerchantRules, ReasonCode } from './rules.js';

export type Verdict = { approve: true } | { approve: false; reason: ReasonCode; line?: number };

const deny = (reason: ReasonCode, line?: number): Verdict => ({ approve: false, reason, ...(line !== undefined ? { line } : {}) });

const isQuantityLimited = (line: OrderLine): boolean =>
  line.type === undefined || line.type === 'physical' || line.type === 'digital';

const sameFee = (actual: OrderLine, expected: OrderLine): boolean =>
  actual.total_amount === expected.total_amount && actual.tax_rate === expected.tax_rate;

export const validateOrder = (order: ValidationOrder, rules: MerchantRules): Verdict => {
  const totals = reconcile(order);
  if (totals) return deny(totals.reason, totals.line);
  if (!hasPurchase(order.order_lines)) return deny('empty_order');
  if (rules.klarna_discounts === false && (order.discount_lines?.length ?? 0) > 0) return deny('discount_not_allowed');

  if (rules.purchase_currency && order.purchase_currency.toUpperCase() !== rules.purchase_currency) {
    return deny('currency_mismatch');
  }

  const shippingAddress = order.shipping_address ?? order.billing_address;
  const billing = checkBillingCountry(order.billing_address ?? order.shipping_address, rules);
  if (billing) return deny(billing);
  const shipping = checkShippingAddress(shippingAddress, rules);
  if (shipping) return deny(shipping);

  // What we would have answered for this order: fee line and tax must be exactly that.
  const priced = priceOrder(
    {
      order_lines: order.order_lines,
      shipping_address: shippingAddress,
      ...(order.selected_shipping_option ? { selected_shipping_option_id: order.selected_shipping_option.id } : {}),
      selection: 'require',
    },
    rules,
  );
  if (!priced.ok) {
    // Without a selected option where shipping is needed, the fee cannot be right.
    const reason = priced.reason === 'shipping_option_not_offered' && !order.selected_shipping_option ? 'shipping_fee_mismatch' : priced.reason;
    return deny(reason, priced.line);
  }
  const expected = priced.order;
  const actualFees = order.order_lines.filter((l) => l.type === 'shipping_fee');
  const expectedFees = expected.order_lines.filter((l) => l.type === 'shipping_fee');
  if (
    actualFees.length !== expectedFees.length ||
    actualFees.some((fee, i) => !sameFee(fee, expectedFees[i]!))
  ) {
    return deny('shipping_fee_mismatch');
  }
  if (rules.tax) {
    const taxFailure = compareTax(order.order_lines, expected.order_lines, rules);
    if (taxFailure !== undefined) return deny('tax_mismatch', taxFailure >= 0 ? taxFailure : undefined);
  }

  if (rules.min_order_amount !== undefined && order.order_amount < rules.min_order_amount) return deny('below_min_amount');
  if (rules.max_order_amount !== undefined && order.order_amount > rules.max_order_amount) return deny('above_max_amount');
  const lines = order.order_lines;
  const denied = rules.denied_references ? new Set(rules.denied_references) : undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (rules.max_quantity_per_line !== undefined && isQuantityLimited(line) && line.quantity > rules.max_quantity_per_line) {
      return deny('quantity_exceeded', i);
    }
    if (denied && line.reference !== undefined && denied.has(line.reference)) return deny('denied_reference', i);
  }
  if (rules.allowed_customer_types && !rules.allowed_customer_types.includes(order.customer?.type ?? 'person')) {
    return deny('customer_type_not_allowed');
  }
  const agreed = checkExpectedOrder(order, rules);
  if (!agreed.ok) return deny(agreed.reason, agreed.line);
  return { approve: true };
};

/**
 * VAT: every goods line carries the rate the rules give it at the destination. Sales tax: no goods
 * line carries tax, and the sales_tax lines add up to exactly the computed tax. Returns the index
 * of the first wrong line, -1 for an order-level difference, undefined when the tax is right.
 */
const compareTax = (actual: readonly OrderLine[], expected: readonly OrderLine[], rules: MerchantRules): number | undefined => {
  const expectedGoods = expected.filter((l) => l.type !== 'shipping_fee' && l.type !== 'sales_tax');
  let goodsIndex = 0;
  let actualSalesTax = 0;
  for (let i = 0; i < actual.length; i++) {
    const line = actual[i]!;
    if (line.type === 'shipping_fee') continue;
    if (line.type === 'sales_tax') {
      actualSalesTax += line.total_amount;
      continue;
    }
    const wanted = expectedGoods[goodsIndex++];
    if (!wanted || line.tax_rate !== wanted.tax_rate) return i;
    // Sales tax: goods carry none at all (the ±1 tolerance at rate 0 would let 1 through).
    if (rules.tax?.mode === 'sales_tax' && line.total_tax_amount !== 0) return i;
  }
  if (rules.tax?.mode === 'sales_tax') {
    const expectedSalesTax = expected.filter((l) => l.type === 'sales_tax').reduce((sum, l) => sum + l.total_amount, 0);
    if (actualSalesTax !== expectedSalesTax) return -1;
  } else if (actualSalesTax !== 0) {
    return -1;
  }
  return undefined;
};
