/**
 * zod/mini schemas of what Klarna sends to the callbacks (Klarna's `shipping_service_request` and
 * `order`) and the types of what we answer. Limits are Klarna's own (see the callback OpenAPI
 * specs in shared/klarna/openapi). The schemas are built on first use, not when the module loads:
 * a body the fast path accepts (fast-parse.ts, from the descriptions in schemas.generated.ts)
 * never needs them, so a cold start does not pay for building them.
 */
import * as z from 'zod/mini';
import type { FastParser } from './fast-parse.js';
import { callbackRequestDescriptor, orderLineDescriptor, validationOrderDescriptor } from './schemas.generated.js';

const MAX_AMOUNT = 100_000_000; // Klarna's cap on unit_price and total_amount.

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

/** Klarna processes at most 1000 lines in one order, in requests and in our answers alike. */
export const MAX_ORDER_LINES = 1000;

const buildOrderSchemas = () => {
  const amount = z.int().check(z.minimum(-MAX_AMOUNT), z.maximum(MAX_AMOUNT));
  const orderAmount = z.int().check(z.minimum(0), z.maximum(Number.MAX_SAFE_INTEGER));
  const text = (max: number) => z.string().check(z.maxLength(max));

  /** Unknown fields (product_identifiers, subscription, image_url…) are kept and echoed back. */
  const orderLine = z.looseObject({
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

  /** Only the address fields the rules look at; names, emails and phones are not even kept. */
  const address = z.object({
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

  const shippingOption = z.looseObject({
    id: z.string().check(z.minLength(1), z.maxLength(255)),
    name: z.optional(text(255)),
    price: z.optional(amount),
    tax_amount: z.optional(amount),
    tax_rate: z.optional(z.int().check(z.minimum(0), z.maximum(10000))),
  });

  const customer = z.object({
    type: z.optional(z.enum(['person', 'organization'])),
  });

  const commonOrderFields = {
    order_amount: orderAmount,
    order_tax_amount: orderAmount,
    order_lines: z.array(orderLine).check(z.maxLength(MAX_ORDER_LINES)),
    purchase_currency: z.string().check(z.regex(/^[A-Za-z]{3}$/)),
    billing_address: z.optional(address),
    shipping_address: z.optional(address),
    selected_shipping_option: z.optional(shippingOption),
    merchant_data: z.optional(text(6000)),
    locale: z.optional(text(20)),
    customer: z.optional(customer),
    tags: z.optional(z.array(text(255)).check(z.maxLength(100))),
  };

  /** Body of address_update, country_change and shipping_option_update. */
  const callbackRequest = z.object(commonOrderFields);

  /**
   * A discount from Klarna's own discount service (validation only): non-positive amounts, and
   * `total_amount = quantity × unit_price` (the discount is the whole line).
   */
  const discountLine = z.object({
    name: z.string().check(z.minLength(1), z.maxLength(255)),
    quantity: z.int().check(z.minimum(0), z.maximum(MAX_AMOUNT)),
    unit_price: z.int().check(z.minimum(-MAX_AMOUNT), z.maximum(0)),
    tax_rate: z.int().check(z.minimum(0), z.maximum(10000)),
    total_amount: z.int().check(z.minimum(-MAX_AMOUNT), z.maximum(0)),
    total_tax_amount: amount,
    reference: z.optional(text(255)),
  });

  /** Body of validation: the full checkout order. */
  const validationOrder = z.object({
    ...commonOrderFields,
    discount_lines: z.optional(z.array(discountLine).check(z.maxLength(MAX_ORDER_LINES))),
    order_id: z.optional(text(255)),
    purchase_country: z.optional(z.string().check(z.regex(/^[A-Za-z]{2}$/))),
  });

  return { orderLine, address, shippingOption, callbackRequest, discountLine, validationOrder };
};

type OrderSchemas = ReturnType<typeof buildOrderSchemas>;
let orderSchemasBuilt: OrderSchemas | undefined;
/** The zod schemas, built on the first call. */
export const orderSchemas = (): OrderSchemas => (orderSchemasBuilt ??= buildOrderSchemas());

export type OrderLine = z.infer<OrderSchemas['orderLine']>;
export type Address = z.infer<OrderSchemas['address']>;
export type CallbackRequest = z.infer<OrderSchemas['callbackRequest']>;
export type DiscountLine = z.infer<OrderSchemas['discountLine']>;
export type ValidationOrder = z.infer<OrderSchemas['validationOrder']>;

/** Body of address_update, country_change and shipping_option_update. */
export const callbackRequestParser: FastParser<CallbackRequest> = { descriptor: callbackRequestDescriptor, schema: () => orderSchemas().callbackRequest };
/** Body of validation. */
export const validationOrderParser: FastParser<ValidationOrder> = { descriptor: validationOrderDescriptor, schema: () => orderSchemas().validationOrder };
/** One order line (for tests of the fast path on lines alone). */
export const orderLineParser: FastParser<OrderLine> = { descriptor: orderLineDescriptor, schema: () => orderSchemas().orderLine };

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
