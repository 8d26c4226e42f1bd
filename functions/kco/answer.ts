/**
 * Decision → Klarna's HTTP answer: 200 with the updated order, 303 + Location to the merchant's
 * deny page, or 400 with `{error_type, error_text}`. Shopper-facing texts come from the rules'
 * `error_texts` where set; they never quote the request.
 */
import type { ErrorType, UpdateResponse } from './order.js';
import type { MerchantRules, ReasonCode } from './rules.js';

export type HttpAnswer = { statusCode: number; headers: Record<string, string>; body: string };

export const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' } as const;

const TRY_AGAIN = 'We could not update your order just now. Please try again in a moment.';

export const defaultErrorTexts: Record<ReasonCode, string> = {
  shipping_country_not_allowed: 'Unfortunately we do not deliver to this country.',
  billing_country_not_allowed: 'Unfortunately we cannot accept a billing address in this country.',
  postal_code_blocked: 'Unfortunately we do not deliver to this postal code.',
  po_box: 'We cannot deliver to a post-office box. Please enter a street address.',
  address_missing: 'Please enter your address.',
  no_shipping_option: 'Unfortunately we have no delivery option for this address.',
  shipping_option_not_offered: 'The selected delivery option is not available for this address. Please choose another.',
  no_tax_rate: 'Unfortunately we do not deliver to this address.',
  line_total_mismatch: 'Your order has changed. Please review your cart and try again.',
  line_tax_mismatch: 'Your order has changed. Please review your cart and try again.',
  order_amount_mismatch: 'Your order has changed. Please review your cart and try again.',
  order_tax_mismatch: 'Your order has changed. Please review your cart and try again.',
  shipping_fee_mismatch: 'The delivery cost has changed. Please review your order and try again.',
  tax_mismatch: 'The tax on your order has changed. Please review your order and try again.',
  currency_mismatch: 'This order cannot be completed in this currency.',
  below_min_amount: 'Your order is below the minimum order amount.',
  above_max_amount: 'Your order is above the maximum order amount.',
  quantity_exceeded: 'The quantity of one of the items exceeds what we allow per order.',
  denied_reference: 'One of the items in your cart cannot be bought right now. Please remove it and try again.',
  customer_type_not_allowed: 'Unfortunately we cannot accept orders for this type of customer.',
  expected_amount_mismatch: 'Your cart has changed. Please review your order and try again.',
  too_many_lines: 'Your order has too many items to add delivery and tax to. Please split it into two orders.',
  empty_order: 'Your cart is empty. Please add an item and try again.',
  no_shipping_option_selected: 'Please choose a delivery option.',
  parcel_locker: 'We cannot deliver to a parcel locker or pick-up point. Please enter a street address.',
  discount_line_mismatch: 'Your discount has changed. Please review your order and try again.',
  discount_not_allowed: 'Discounts cannot be used for this order. Please remove the discount and try again.',
  cart_mismatch: 'Your cart has changed. Please review your order and try again.',
  order_unknown: 'We could not find your order. Please return to the shop and try again.',
  rules_missing: TRY_AGAIN,
  rules_invalid: TRY_AGAIN,
  rules_unavailable: TRY_AGAIN,
  invalid_request: 'We could not read your order. Please try again.',
  internal_error: TRY_AGAIN,
};

const ADDRESS_REASONS: ReadonlySet<ReasonCode> = new Set(['po_box', 'parcel_locker', 'billing_country_not_allowed', 'address_missing']);
const UNSUPPORTED_REASONS: ReadonlySet<ReasonCode> = new Set([
  'shipping_country_not_allowed',
  'postal_code_blocked',
  'no_shipping_option',
  'shipping_option_not_offered',
  'no_tax_rate',
]);

/** Which of Klarna's three error types a reason is, for the update callbacks. */
export const errorTypeFor = (reason: ReasonCode): ErrorType =>
  ADDRESS_REASONS.has(reason) ? 'address_error' : UNSUPPORTED_REASONS.has(reason) ? 'unsupported_shipping_address' : 'approval_failed';

/** Texts are only taken from validated rules; a broken rules document gets the defaults. */
export const errorText = (reason: ReasonCode, rules: MerchantRules | undefined): string =>
  rules?.error_texts?.[reason] ?? defaultErrorTexts[reason];

export const updated = (body: UpdateResponse): HttpAnswer => ({
  statusCode: 200,
  headers: { ...JSON_HEADERS },
  body: JSON.stringify(body),
});

export const approved = (): HttpAnswer => ({ statusCode: 200, headers: { 'cache-control': 'no-store' }, body: '' });

export const rejected = (errorType: ErrorType, text: string): HttpAnswer => ({
  statusCode: 400,
  headers: { ...JSON_HEADERS },
  body: JSON.stringify({ error_type: errorType, error_text: text }),
});

/** An update callback refuses: 400 with the error type the reason calls for. */
export const refuseUpdate = (reason: ReasonCode, rules: MerchantRules | undefined): HttpAnswer =>
  rejected(errorTypeFor(reason), errorText(reason, rules));

/**
 * Validation denies: a 303 to the merchant's own page when configured (reason and order id in
 * the query, the URL only ever from the rules), else 400 approval_failed.
 */
export const denyPurchase = (reason: ReasonCode, orderId: string, rules: MerchantRules | undefined): HttpAnswer => {
  const redirect = rules?.deny_redirect_url;
  if (redirect) {
    const location = `${redirect}?reason=${encodeURIComponent(reason)}&order_id=${encodeURIComponent(orderId)}`;
    return { statusCode: 303, headers: { location, 'cache-control': 'no-store' }, body: '' };
  }
  return rejected('approval_failed', errorText(reason, rules));
};


export const TOO_LARGE_TEXT = 'Your order is too large for us to process. Please contact the shop.';

/**
 * A body over MAX_BODY_BYTES: Klarna's answers are 200, a redirect or 400 (no 413), and the text
 * is shown to the shopper, so it is the generic refusal with no byte counts.
 */
export const tooLarge = (): HttpAnswer => rejected('approval_failed', TOO_LARGE_TEXT);
