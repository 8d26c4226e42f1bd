/**
 * Klarna's order as the Order Management API returns it (only the fields we use; the rest is
 * ignored), and the record we keep of it. The record holds what the shop needs to fulfil the
 * order and nothing more: the lines, the amounts, and the shipping address with the recipient's
 * name (a parcel needs it). No billing address, e-mail, phone or date of birth is kept; the shop
 * reads those from Klarna when it needs them.
 */
import * as z from 'zod/mini';
import { fraudStatusFrom, type FraudStatus, type OrderStatus } from './lifecycle.js';

const int = z.int().check(z.minimum(-Number.MAX_SAFE_INTEGER), z.maximum(Number.MAX_SAFE_INTEGER));
const text = (max: number) => z.string().check(z.maxLength(max));

const omLineSchema = z.object({
  type: z.optional(text(50)),
  reference: z.optional(z.nullable(text(255))),
  name: z.optional(text(255)),
  quantity: z.optional(int),
  quantity_unit: z.optional(z.nullable(text(8))),
  unit_price: z.optional(int),
  tax_rate: z.optional(int),
  total_amount: int,
  total_discount_amount: z.optional(int),
  total_tax_amount: z.optional(int),
});

const omAddressSchema = z.object({
  given_name: z.optional(text(100)),
  family_name: z.optional(text(100)),
  organization_name: z.optional(text(255)),
  street_address: z.optional(text(1000)),
  street_address2: z.optional(text(1000)),
  postal_code: z.optional(text(100)),
  city: z.optional(text(1000)),
  region: z.optional(text(100)),
  country: z.optional(text(2)),
  care_of: z.optional(text(1000)),
});

/** GET /ordermanagement/v1/orders/{order_id}: what we read of it. */
export const omOrderSchema = z.object({
  order_id: text(255),
  status: z.optional(text(50)),
  fraud_status: z.optional(text(50)),
  order_amount: int,
  original_order_amount: z.optional(int),
  purchase_currency: z.string().check(z.regex(/^[A-Za-z]{3}$/)),
  order_lines: z.array(omLineSchema).check(z.maxLength(1000)),
  shipping_address: z.optional(omAddressSchema),
  merchant_reference1: z.optional(z.nullable(text(255))),
  merchant_reference2: z.optional(z.nullable(text(255))),
  /** Klarna's own discount service (if any): the shop's total is before these. */
  discount_lines: z.optional(z.array(z.object({ total_amount: int })).check(z.maxLength(1000))),
  created_at: z.optional(text(64)),
  expires_at: z.optional(text(64)),
});
export type OmOrder = z.infer<typeof omOrderSchema>;
export type OmOrderLine = z.infer<typeof omLineSchema>;
export type ShippingAddress = z.infer<typeof omAddressSchema>;

/** One item of the orders table. */
export type OrderRecord = {
  readonly order_id: string;
  readonly status: OrderStatus;
  readonly fraud_status: FraudStatus;
  /** Klarna's own order status when last read (AUTHORIZED, CANCELLED…). */
  readonly klarna_status?: string;
  readonly order_amount: number;
  readonly original_order_amount?: number;
  readonly purchase_currency: string;
  readonly order_lines: readonly OmOrderLine[];
  readonly shipping_address?: ShippingAddress;
  readonly merchant_reference1?: string;
  readonly merchant_reference2?: string;
  /** Klarna's timestamps. */
  readonly klarna_created_at?: string;
  readonly klarna_expires_at?: string;
  /** Ours (ISO 8601). */
  readonly recorded_at: string;
  readonly updated_at: string;
  readonly acknowledged_at?: string;
  readonly review_reason?: string;
  /** Starts at 1, +1 with every change: the events' `sequence`. */
  readonly version: number;
};

/**
 * An authorization's end as the expiry index sorts it (lib/tables.ts `authorization-expiry`): one
 * ISO 8601 form in UTC, so that comparing strings compares times whatever form Klarna wrote;
 * undefined for no end or one that is not a time.
 */
export const expiryDue = (expiresAt: string | undefined): string | undefined => {
  const at = expiresAt === undefined ? Number.NaN : Date.parse(expiresAt);
  return Number.isFinite(at) ? new Date(at).toISOString() : undefined;
};

const defined = <T extends Record<string, unknown>>(value: T): T =>
  Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined && v !== null)) as T;

/** The record of a freshly read order: status `recorded`, version 1. */
export const recordOf = (order: OmOrder, nowIso: string): OrderRecord =>
  defined({
    order_id: order.order_id,
    status: 'recorded' as const,
    fraud_status: fraudStatusFrom(order.fraud_status),
    klarna_status: order.status,
    order_amount: order.order_amount,
    original_order_amount: order.original_order_amount,
    purchase_currency: order.purchase_currency.toUpperCase(),
    order_lines: order.order_lines.map((line) => defined({ ...line })),
    shipping_address: order.shipping_address ? defined({ ...order.shipping_address }) : undefined,
    merchant_reference1: order.merchant_reference1 ?? undefined,
    merchant_reference2: order.merchant_reference2 ?? undefined,
    klarna_created_at: order.created_at,
    klarna_expires_at: order.expires_at,
    recorded_at: nowIso,
    updated_at: nowIso,
    version: 1,
  });
