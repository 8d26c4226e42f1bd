/**
 * zod/mini schemas of what Klarna sends to the callbacks (Klarna's `shipping_service_request` and
 * `order`) and the types of what we answer. Limits are Klarna's own (see the callback OpenAPI
 * specs in shared/klarna/openapi). Built once at module scope; nothing here runs per request but
 * `parse`.
 */
import * as z from 'zod/mini';

const MAX_AMOUNT = 100_000_000; // Klarna's cap on unit_price and total_amount.
const amount = z.int().check(z.minimum(-MAX_AMOUNT), z.maximum(MAX_AMOUNT));
const orderAmount = z.int().check(z.minimum(0), z.maximum(Number.MAX_SAFE_INTEGER));
const text = (max: number) => z.string().check(z.maxLength(max));

export const orderLineTypes = [
  'physical',
  'discount',
  'shipping_fee',
  'sales_tax',
  'digital',
  'gift_card',
  'store_credit',
  'surcharge',
] as const;
export type OrderLineType = (typeof orderLineTypes)[number];

/** Unknown fields (product_identifiers, subscription, image_url…) are kept and echoed back. */
export const orderLineSchema = z.looseObject({
  type: z.optional(z.enum(orderLineTypes)),
  reference: z.optional(text(255)),
  name: z.string().check(z.minLength(1), z.maxLength(255)),
  quantity: z.int().check(z.minimum(0), z.maximum(MAX_AMOUNT)),
  quantity_unit: z.optional(text(8)),
  unit_price: amount,
  tax_rate: z.int().check(z.minimum(0), z.maximum(10000)),
  total_amount: amount,
  total_discount_amount: z.optional(z.int().check(z.minimum(0), z.maximum(MAX_AMOUNT))),
  total_tax_amount: amount,
  merchant_data: z.optional(text(1024)),
  product_url: z.optional(text(1024)),
  image_url: z.optional(text(1024)),
});
export type OrderLine = z.infer<typeof orderLineSchema>;

/** Only the address fields the rules look at; names, emails and phones are not even kept. */
export const addressSchema = z.object({
  street_address: z.optional(text(1000)),
  street_address2: z.optional(text(1000)),
  street_name: z.optional(text(1000)),
  street_number: z.optional(text(100)),
  house_extension: z.optional(text(100)),
  postal_code: z.optional(text(100)),
  city: z.optional(text(1000)),
  region: z.optional(text(100)),
  country: z.optional(z.string().check(z.regex(/^[A-Za-z]{2}$/))),
  care_of: z.optional(text(1000)),
});
export type Address = z.infer<typeof addressSchema>;

export const shippingOptionSchema = z.looseObject({
  id: z.string().check(z.minLength(1), z.maxLength(255)),
  name: z.optional(text(255)),
  price: z.optional(amount),
  tax_amount: z.optional(amount),
  tax_rate: z.optional(z.int().check(z.minimum(0), z.maximum(10000))),
});

const customerSchema = z.object({
  type: z.optional(z.enum(['person', 'organization'])),
});

/** Klarna processes at most 1000 lines in one order, in requests and in our answers alike. */
export const MAX_ORDER_LINES = 1000;

const commonOrderFields = {
  order_amount: orderAmount,
  order_tax_amount: orderAmount,
  order_lines: z.array(orderLineSchema).check(z.maxLength(MAX_ORDER_LINES)),
  purchase_currency: z.string().check(z.regex(/^[A-Za-z]{3}$/)),
  billing_address: z.optional(addressSchema),
  shipping_address: z.optional(addressSchema),
  selected_shipping_option: z.optional(shippingOptionSchema),
  merchant_data: z.optional(text(6000)),
  locale: z.optional(text(20)),
  customer: z.optional(customerSchema),
  tags: z.optional(z.array(text(255)).check(z.maxLength(100))),
};

/** Body of address_update, country_change and shipping_option_update. */
export const callbackRequestSchema = z.object(commonOrderFields);
export type CallbackRequest = z.infer<typeof callbackRequestSchema>;

/**
 * A discount from Klarna's own discount service (validation only): non-positive amounts, and
 * `total_amount = quantity × unit_price` (the discount is the whole line).
 */
export const discountLineSchema = z.object({
  name: z.string().check(z.minLength(1), z.maxLength(255)),
  quantity: z.int().check(z.minimum(0), z.maximum(MAX_AMOUNT)),
  unit_price: z.int().check(z.minimum(-MAX_AMOUNT), z.maximum(0)),
  tax_rate: z.int().check(z.minimum(0), z.maximum(10000)),
  total_amount: z.int().check(z.minimum(-MAX_AMOUNT), z.maximum(0)),
  total_tax_amount: amount,
  reference: z.optional(text(255)),
});
export type DiscountLine = z.infer<typeof discountLineSchema>;

/** Body of validation: the full checkout order. */
export const validationOrderSchema = z.object({
  ...commonOrderFields,
  discount_lines: z.optional(z.array(discountLineSchema).check(z.maxLength(MAX_ORDER_LINES))),
  order_id: z.optional(text(255)),
  purchase_country: z.optional(z.string().check(z.regex(/^[A-Za-z]{2}$/))),
});
export type ValidationOrder = z.infer<typeof validationOrderSchema>;

/** A shipping option as we offer it to Klarna. */
export type OfferedShippingOption = {
  id: string;
  name: string;
  description?: string;
  price: number;
  tax_amount: number;
  tax_rate: number;
  shipping_method?: string;
  preselected: boolean;
};

/** Our 200 answer to the three update callbacks (Klarna's `shipping_service_response`). */
export type UpdateResponse = {
  order_amount: number;
  order_tax_amount: number;
  order_lines: OrderLine[];
  purchase_currency: string;
  shipping_options?: OfferedShippingOption[];
  merchant_data?: string;
};

/** Klarna's 400 body. */
export type ErrorType = 'address_error' | 'unsupported_shipping_address' | 'approval_failed';
export type ErrorResponse = { error_type: ErrorType; error_text: string };

/** Field path of the first schema issue, for logs and our 400 text (never the value). */
export const firstIssuePath = (error: { issues: readonly { path: readonly PropertyKey[] }[] }): string => {
  const path = error.issues[0]?.path ?? [];
  return path.map((key) => (typeof key === 'number' ? `[${key}]` : `.${String(key)}`)).join('').replace(/^\./, '') || '(body)';
};
