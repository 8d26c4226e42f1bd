/**
 * Builders for KCO test data: order lines, addresses, callback requests, validation orders and
 * merchant rules. Amounts that are not given are derived the way Klarna defines them
 * (total = quantity × unit_price − discount; tax = the tax included in the total at the rate), so
 * a builder's output reconciles unless a test overrides an amount on purpose.
 */
import type { PricedOrder } from '../../functions/kco/cart.js';
import { priceOrder, type PricingInput } from '../../functions/kco/cart.js';
import { includedTax } from '../../functions/kco/money.js';
import type { Address, CallbackRequest, OrderLine, ValidationOrder } from '../../functions/kco/order.js';
import type { MerchantRules, ShippingOptionRule } from '../../functions/kco/rules.js';

/**
 * A goods line (physical T-shirt, 2 × 12 500 at 25 % by default). Total and tax follow from the
 * other fields unless given.
 */
export const line = (overrides: Partial<OrderLine> = {}): OrderLine => {
  const base = {
    type: 'physical' as const,
    reference: 'TSHIRT-1',
    name: 'T-shirt',
    quantity: 2,
    unit_price: 12500,
    tax_rate: 2500,
    total_discount_amount: 0,
    ...overrides,
  };
  const total = overrides.total_amount ?? base.quantity * base.unit_price - (base.total_discount_amount ?? 0);
  return {
    ...base,
    total_amount: total,
    total_tax_amount: overrides.total_tax_amount ?? includedTax(total, base.tax_rate),
  };
};

/** A discount line of −amount (quantity 1, negative unit price and tax, as Klarna expects). */
export const discountLine = (amount: number, overrides: Partial<OrderLine> = {}): OrderLine =>
  line({ type: 'discount', reference: 'DISCOUNT', name: 'Discount', quantity: 1, unit_price: -amount, ...overrides });

/** A shipping_fee line as a shop might send it. */
export const shippingFeeLine = (price: number, overrides: Partial<OrderLine> = {}): OrderLine =>
  line({ type: 'shipping_fee', reference: 'standard', name: 'Standard delivery', quantity: 1, unit_price: price, ...overrides });

/** A sales_tax line as a shop might send it. */
export const salesTaxLine = (amount: number, overrides: Partial<OrderLine> = {}): OrderLine =>
  line({ type: 'sales_tax', reference: 'sales-tax', name: 'Sales Tax', quantity: 1, unit_price: amount, tax_rate: 0, ...overrides });

export const seAddress = (overrides: Partial<Address> = {}): Address => ({
  street_address: 'Storgatan 3',
  postal_code: '113 35',
  city: 'Stockholm',
  country: 'SE',
  ...overrides,
});

export const deAddress = (overrides: Partial<Address> = {}): Address => ({
  street_address: 'Hauptstraße 5',
  postal_code: '10115',
  city: 'Berlin',
  country: 'DE',
  ...overrides,
});

export const usAddress = (overrides: Partial<Address> = {}): Address => ({
  street_address: 'Lombard St 10',
  postal_code: '90210',
  city: 'Beverly Hills',
  region: 'CA',
  country: 'US',
  ...overrides,
});

export const option = (overrides: Partial<ShippingOptionRule> = {}): ShippingOptionRule => ({
  id: 'standard',
  name: 'Standard delivery',
  price: 4900,
  tax_rate: 2500,
  ...overrides,
});

/**
 * VAT rules (Sweden 25 %, Germany 19 %, food at 12 % in Sweden) with three options: `standard`
 * 4900 free from 50 000 and preselected, `express` 9900, `pickup` 2900 in Sweden only.
 */
export const vatRules = (overrides: Partial<MerchantRules> = {}): MerchantRules => ({
  shipping_options: [
    option({ id: 'standard', name: 'Standard delivery', price: 4900, tax_rate: 2500, free_over: 50000, shipping_method: 'Home', preselected: true }),
    option({ id: 'express', name: 'Express delivery', price: 9900, tax_rate: 2500, shipping_method: 'Home' }),
    option({ id: 'pickup', name: 'Pickup point', price: 2900, tax_rate: 2500, countries: ['SE'], shipping_method: 'PickUpPoint' }),
  ],
  tax: { mode: 'vat', rates: { SE: 2500, DE: 1900 }, reference_rates: { 'FOOD-1': { SE: 1200 } } },
  ...overrides,
});

/**
 * US sales-tax rules (California 7.25 %, New York 4 %, elsewhere 0) with `standard` 599 free from
 * 7 500 and preselected, and `express` 1499; shipping not taxed.
 */
export const salesTaxRules = (overrides: Partial<MerchantRules> = {}): MerchantRules => ({
  shipping_options: [
    option({ id: 'standard', name: 'Standard shipping', price: 599, tax_rate: 0, free_over: 7500, shipping_method: 'Home', preselected: true }),
    option({ id: 'express', name: 'Express shipping', price: 1499, tax_rate: 0, shipping_method: 'Home' }),
  ],
  tax: { mode: 'sales_tax', rates: { 'US-CA': 725, 'US-NY': 400, US: 0 }, tax_shipping: false },
  ...overrides,
});

/** Sum of the lines the way Klarna checks them: order_amount and order_tax_amount. */
export const totalsOf = (lines: readonly OrderLine[]): { order_amount: number; order_tax_amount: number } => {
  let amount = 0;
  let tax = 0;
  for (const l of lines) {
    amount += l.total_amount;
    tax += l.type === 'sales_tax' ? l.total_amount + l.total_tax_amount : l.total_tax_amount;
  }
  return { order_amount: amount, order_tax_amount: tax };
};

/** A body for address_update / country_change / shipping_option_update; totals from the lines. */
export const callbackRequest = (overrides: Partial<CallbackRequest> = {}): CallbackRequest => {
  const lines = overrides.order_lines ?? [line()];
  return {
    purchase_currency: 'SEK',
    billing_address: overrides.shipping_address ?? seAddress(),
    shipping_address: seAddress(),
    ...totalsOf(lines),
    ...overrides,
    order_lines: lines,
  };
};

/** priceOrder that fails the test when it refuses. */
export const priced = (input: Omit<PricingInput, 'selection'> & { selection?: PricingInput['selection'] }, rules: MerchantRules): PricedOrder => {
  const result = priceOrder({ selection: 'keep', ...input }, rules);
  if (!result.ok) throw new Error(`priceOrder refused: ${result.reason}${result.line !== undefined ? ` (line ${result.line})` : ''}`);
  return result.order;
};

/**
 * The order Klarna would send to `validation` after we answered with `order`: the same lines and
 * amounts, the option we preselected as the shopper's choice, the given addresses.
 */
export const orderFromPriced = (
  order: PricedOrder,
  context: {
    shipping_address?: Address;
    billing_address?: Address;
    purchase_currency?: string;
    order_id?: string;
    customer?: ValidationOrder['customer'];
  } = {},
): ValidationOrder => {
  const shipping = context.shipping_address ?? seAddress();
  return {
    order_id: context.order_id ?? 'order-1',
    purchase_currency: context.purchase_currency ?? 'SEK',
    order_amount: order.order_amount,
    order_tax_amount: order.order_tax_amount,
    order_lines: order.order_lines.map((l) => ({ ...l })),
    shipping_address: shipping,
    billing_address: context.billing_address ?? shipping,
    ...(order.selected_shipping_option ? { selected_shipping_option: { ...order.selected_shipping_option } } : {}),
    ...(context.customer ? { customer: context.customer } : {}),
  };
};

/** Replace line `index` of an order and keep the order totals in step with the lines. */
export const withLine = (order: ValidationOrder, index: number, change: (l: OrderLine) => OrderLine): ValidationOrder => {
  const lines = order.order_lines.map((l, i) => (i === index ? change(l) : l));
  return { ...order, order_lines: lines, ...totalsOf(lines) };
};

/** Index of the first line of a type; fails the test when there is none. */
export const indexOfType = (order: { order_lines: readonly OrderLine[] }, type: OrderLine['type']): number => {
  const index = order.order_lines.findIndex((l) => l.type === type);
  if (index < 0) throw new Error(`no ${String(type)} line`);
  return index;
};
