/**
 * Pure use cases of the four callbacks: request + merged rules → outcome. No I/O, no HTTP; the
 * handler wrapper (kco-handler.ts) turns outcomes into Klarna's answers and logs them.
 */
import { checkBillingCountry, checkShippingAddress } from './address.js';
import { priceOrder, type PricingInput } from './cart.js';
import { validateOrder } from './checks.js';
import type { CallbackRequest, UpdateResponse, ValidationOrder } from './order.js';
import type { MerchantRules, ReasonCode } from './rules.js';

export type Outcome =
  | { kind: 'update'; body: UpdateResponse }
  | { kind: 'refuse'; reason: ReasonCode; line?: number }
  | { kind: 'approve' }
  | { kind: 'deny'; reason: ReasonCode; line?: number };

/** Klarna's response schema caps merchant_data at 1024 although the order allows 6000. */
const MAX_ECHOED_MERCHANT_DATA = 1024;

const shippingAddressOf = (request: CallbackRequest) => request.shipping_address ?? request.billing_address;

const recompute = (request: CallbackRequest, rules: MerchantRules, selection: PricingInput['selection']): Outcome => {
  const priced = priceOrder(
    {
      order_lines: request.order_lines,
      shipping_address: shippingAddressOf(request),
      ...(request.selected_shipping_option ? { selected_shipping_option_id: request.selected_shipping_option.id } : {}),
      selection,
    },
    rules,
  );
  if (!priced.ok) return { kind: 'refuse', reason: priced.reason, ...(priced.line !== undefined ? { line: priced.line } : {}) };
  const { order } = priced;
  const body: UpdateResponse = {
    order_amount: order.order_amount,
    order_tax_amount: order.order_tax_amount,
    order_lines: order.order_lines,
    // Klarna's currency codes are upper case; some clients send "sek".
    purchase_currency: request.purchase_currency.toUpperCase(),
    ...(order.shipping_options ? { shipping_options: order.shipping_options } : {}),
    ...(request.merchant_data !== undefined && request.merchant_data.length <= MAX_ECHOED_MERCHANT_DATA
      ? { merchant_data: request.merchant_data }
      : {}),
  };
  return { kind: 'update', body };
};

const currencyRefused = (request: CallbackRequest, rules: MerchantRules): boolean =>
  rules.purchase_currency !== undefined && request.purchase_currency.toUpperCase() !== rules.purchase_currency;

export const addressUpdate = (request: CallbackRequest, rules: MerchantRules): Outcome => {
  if (currencyRefused(request, rules)) return { kind: 'refuse', reason: 'currency_mismatch' };
  const reason = checkShippingAddress(shippingAddressOf(request), rules);
  if (reason) return { kind: 'refuse', reason };
  return recompute(request, rules, 'keep');
};

export const countryChange = (request: CallbackRequest, rules: MerchantRules): Outcome => {
  if (currencyRefused(request, rules)) return { kind: 'refuse', reason: 'currency_mismatch' };
  const billing = checkBillingCountry(request.billing_address, rules);
  if (billing) return { kind: 'refuse', reason: billing };
  return addressUpdate(request, rules);
};

export const shippingOptionUpdate = (request: CallbackRequest, rules: MerchantRules): Outcome => {
  if (currencyRefused(request, rules)) return { kind: 'refuse', reason: 'currency_mismatch' };
  const reason = checkShippingAddress(shippingAddressOf(request), rules);
  if (reason) return { kind: 'refuse', reason };
  if (!request.selected_shipping_option) return { kind: 'refuse', reason: 'no_shipping_option_selected' };
  return recompute(request, rules, 'require');
};

export const validation = (order: ValidationOrder, rules: MerchantRules): Outcome => {
  const verdict = validateOrder(order, rules);
  if (verdict.approve) return { kind: 'approve' };
  return { kind: 'deny', reason: verdict.reason, ...(verdict.line !== undefined ? { line: verdict.line } : {}) };
};
