/**
 * Pure: recompute an order for its shipping address under the merchant's rules — the shipping
 * options offered there, the shipping_fee line, tax (VAT inside every line, or one US sales_tax
 * line) and the totals. The update callbacks answer with this; validation compares against it.
 * Every priced order is checked with `reconcile` before it leaves this module.
 */
import { addedTax, expectedLineTotal, includedTax, reconcile, taxWithinTolerance } from './money.js';
import { MAX_ORDER_LINES, type Address, type OfferedShippingOption, type OrderLine, type OrderLineType } from './order.js';
import { countryOf } from './address.js';
import type { MerchantRules, ReasonCode, ShippingOptionRule, TaxRules } from './rules.js';

/** Lines Klarna ships: an order with any of these needs a shipping option and a fee line. */
const isPhysical = (line: OrderLine): boolean => line.type === undefined || line.type === 'physical';

/**
 * Whether these rules compute the line, so that it is replaced on every recomputation and is not
 * part of the shop's cart: the shipping_fee line when they price shipping, the sales_tax line when
 * they compute tax. Otherwise such lines are the merchant's own (shipping or tax handled outside
 * these rules) and are kept and checked like any other line.
 */
export const computedByRules = (line: Pick<OrderLine, 'type'>, rules: MerchantRules): boolean =>
  (line.type === 'shipping_fee' && (rules.shipping_options?.length ?? 0) > 0) || (line.type === 'sales_tax' && rules.tax !== undefined);

/** Something bought: an order without any such line is empty, whatever else it carries. */
const PURCHASE_TYPES: ReadonlySet<OrderLineType | undefined> = new Set([undefined, 'physical', 'digital', 'gift_card']);

export const hasPurchase = (lines: readonly Pick<OrderLine, 'type'>[]): boolean => lines.some((line) => PURCHASE_TYPES.has(line.type));

/** Lines that count towards `free_over`: what the shopper buys, after discounts. */
const GOODS_TYPES: ReadonlySet<OrderLineType | undefined> = new Set([undefined, 'physical', 'digital', 'gift_card', 'discount']);

/** Lines that carry VAT at the destination's rate (gift cards and store credit are outside VAT). */
const VAT_EXEMPT_TYPES: ReadonlySet<OrderLineType | undefined> = new Set(['gift_card', 'store_credit']);

/** Lines in the US sales-tax base (shipping only with `tax_shipping`). */
const SALES_TAXABLE_TYPES: ReadonlySet<OrderLineType | undefined> = new Set([undefined, 'physical', 'digital', 'discount', 'surcharge']);

export const SALES_TAX_LINE_NAME = 'Sales Tax';
export const SALES_TAX_REFERENCE = 'sales-tax';

export type PricedOrder = {
  order_amount: number;
  order_tax_amount: number;
  order_lines: OrderLine[];
  shipping_options?: OfferedShippingOption[];
  selected_shipping_option?: OfferedShippingOption;
};

export type Priced = { ok: true; order: PricedOrder } | { ok: false; reason: ReasonCode; line?: number };

export type PricingInput = {
  order_lines: readonly OrderLine[];
  shipping_address: Address | undefined;
  /** The option the shopper has chosen, if any. */
  selected_shipping_option_id?: string;
  /**
   * `keep`: keep the shopper's option if still offered, else the preselected one (address and
   * country changes). `require`: the chosen option must be offered (shipping_option_update,
   * validation).
   */
  selection: 'keep' | 'require';
};

type TaxPlan =
  | { mode: 'none' }
  | { mode: 'vat'; countryRate: number; rateFor: (line: OrderLine) => number | undefined }
  | { mode: 'sales_tax'; rate: number; taxShipping: boolean };

const salesTaxRate = (tax: Extract<TaxRules, { mode: 'sales_tax' }>, address: Address): number | undefined => {
  const country = countryOf(address);
  const region = address.region?.trim().toUpperCase();
  return (region ? tax.rates[`${country}-${region}`] : undefined) ?? (country ? tax.rates[country] : undefined);
};

const taxPlanFor = (rules: MerchantRules, address: Address): TaxPlan | 'no_tax_rate' => {
  const tax = rules.tax;
  if (!tax) return { mode: 'none' };
  const country = countryOf(address) ?? '';
  if (tax.mode === 'sales_tax') {
    const rate = salesTaxRate(tax, address);
    return rate === undefined ? 'no_tax_rate' : { mode: 'sales_tax', rate, taxShipping: tax.tax_shipping ?? false };
  }
  const countryRate = tax.rates[country];
  if (countryRate === undefined) return 'no_tax_rate';
  const byReference = tax.reference_rates;
  return {
    mode: 'vat',
    countryRate,
    rateFor: (line) => {
      if (VAT_EXEMPT_TYPES.has(line.type)) return 0;
      const special = line.reference !== undefined ? byReference?.[line.reference]?.[country] : undefined;
      return special ?? countryRate;
    },
  };
};

/** The shipping options offered for a country, with `free_over` applied and taxed for the plan. */
export const offeredShippingOptions = (
  rules: MerchantRules,
  country: string,
  goodsSubtotal: number,
  plan: TaxPlan,
): OfferedShippingOption[] =>
  (rules.shipping_options ?? [])
    .filter((option) => !option.countries || option.countries.includes(country))
    .map((option) => offer(option, goodsSubtotal, plan));

const offer = (option: ShippingOptionRule, goodsSubtotal: number, plan: TaxPlan): OfferedShippingOption => {
  const price = option.free_over !== undefined && goodsSubtotal >= option.free_over ? 0 : option.price;
  // VAT: shipping is taxed at the destination's rate (19% to DE, 25% to SE), like the goods.
  // US sales tax: shipping prices exclude tax and carry no rate; tax goes on the sales_tax line.
  // Without a `tax` section the option's own tax_rate applies.
  const taxRate = plan.mode === 'sales_tax' ? 0 : plan.mode === 'vat' ? plan.countryRate : option.tax_rate;
  return {
    id: option.id,
    name: option.name,
    ...(option.description !== undefined ? { description: option.description } : {}),
    price,
    tax_amount: includedTax(price, taxRate),
    tax_rate: taxRate,
    ...(option.shipping_method !== undefined ? { shipping_method: option.shipping_method } : {}),
    preselected: false,
  };
};

const chooseOption = (
  offered: readonly OfferedShippingOption[],
  rules: MerchantRules,
  input: PricingInput,
): OfferedShippingOption | 'shipping_option_not_offered' | undefined => {
  const wanted = input.selected_shipping_option_id;
  const kept = wanted !== undefined ? offered.find((o) => o.id === wanted) : undefined;
  if (kept) return kept;
  if (input.selection === 'require') return 'shipping_option_not_offered';
  const preselectedId = rules.shipping_options?.find((o) => o.preselected && offered.some((x) => x.id === o.id))?.id;
  return offered.find((o) => o.id === preselectedId) ?? offered[0];
};

const shippingFeeLine = (option: OfferedShippingOption): OrderLine => ({
  type: 'shipping_fee',
  reference: option.id,
  name: option.name,
  quantity: 1,
  unit_price: option.price,
  tax_rate: option.tax_rate,
  total_amount: option.price,
  total_discount_amount: 0,
  total_tax_amount: option.tax_amount,
});

const salesTaxLine = (tax: number): OrderLine => ({
  type: 'sales_tax',
  reference: SALES_TAX_REFERENCE,
  name: SALES_TAX_LINE_NAME,
  quantity: 1,
  unit_price: tax,
  tax_rate: 0,
  total_amount: tax,
  total_discount_amount: 0,
  total_tax_amount: 0,
});

/**
 * Price the order for its shipping address. The goods lines keep their amounts (they are the
 * merchant's prices); their tax follows the destination; shipping and sales tax are ours.
 */
export const priceOrder = (input: PricingInput, rules: MerchantRules): Priced => {
  const address = input.shipping_address;
  const country = countryOf(address);
  if (!address || !country) return { ok: false, reason: 'address_missing' };
  // A cart of only fees, discounts or tax (a shopper-sent shipping line, say) would price to nothing.
  if (!hasPurchase(input.order_lines)) return { ok: false, reason: 'empty_order' };
  const plan = taxPlanFor(rules, address);
  if (plan === 'no_tax_rate') return { ok: false, reason: 'no_tax_rate' };

  const lines: OrderLine[] = [];
  let goodsSubtotal = 0;
  let needsShipping = false;
  const pricesShipping = (rules.shipping_options?.length ?? 0) > 0;
  const source = input.order_lines;
  for (let i = 0; i < source.length; i++) {
    const line = source[i]!;
    if (computedByRules(line, rules)) continue;
    if (line.total_amount !== expectedLineTotal(line)) return { ok: false, reason: 'line_total_mismatch', line: i };
    if (GOODS_TYPES.has(line.type)) goodsSubtotal += line.total_amount;
    if (isPhysical(line)) needsShipping = true;
    if (plan.mode === 'none') {
      if (!taxWithinTolerance(line.total_amount, line.tax_rate, line.total_tax_amount)) {
        return { ok: false, reason: 'line_tax_mismatch', line: i };
      }
      lines.push(line);
    } else if (plan.mode === 'vat') {
      const rate = plan.rateFor(line)!;
      lines.push({ ...line, tax_rate: rate, total_tax_amount: includedTax(line.total_amount, rate) });
    } else {
      lines.push({ ...line, tax_rate: 0, total_tax_amount: 0 });
    }
  }

  let shippingOptions: OfferedShippingOption[] | undefined;
  let selected: OfferedShippingOption | undefined;
  if (needsShipping && pricesShipping) {
    const offered = offeredShippingOptions(rules, country, goodsSubtotal, plan);
    if (offered.length === 0) return { ok: false, reason: 'no_shipping_option' };
    const chosen = chooseOption(offered, rules, input);
    if (chosen === 'shipping_option_not_offered') return { ok: false, reason: chosen };
    if (chosen) {
      selected = { ...chosen, preselected: true };
      shippingOptions = offered.map((o) => (o.id === chosen.id ? selected! : o));
      lines.push(shippingFeeLine(selected));
    }
  }

  if (plan.mode === 'sales_tax') {
    let base = 0;
    for (const line of lines) {
      if (SALES_TAXABLE_TYPES.has(line.type) || (plan.taxShipping && line.type === 'shipping_fee')) base += line.total_amount;
    }
    lines.push(salesTaxLine(addedTax(Math.max(0, base), plan.rate)));
  }
  // Our fee and tax lines count towards Klarna's limit too: a full cart has no room for them.
  if (lines.length > MAX_ORDER_LINES) return { ok: false, reason: 'too_many_lines' };

  let orderAmount = 0;
  let orderTax = 0;
  for (const line of lines) {
    orderAmount += line.total_amount;
    orderTax += line.type === 'sales_tax' ? line.total_amount + line.total_tax_amount : line.total_tax_amount;
  }
  // Klarna requires both totals non-negative (discounts larger than the goods, say).
  if (orderAmount < 0 || orderTax < 0) return { ok: false, reason: 'below_min_amount' };

  const order: PricedOrder = {
    order_amount: orderAmount,
    order_tax_amount: orderTax,
    order_lines: lines,
    ...(shippingOptions ? { shipping_options: shippingOptions } : {}),
    ...(selected ? { selected_shipping_option: selected } : {}),
  };
  // What we send must pass Klarna's own checks; if it cannot, answering would be a bug.
  const failure = reconcile(order);
  if (failure) return { ok: false, reason: 'internal_error', ...(failure.line !== undefined ? { line: failure.line } : {}) };
  return { ok: true, order };
};
