/**
 * The events the shop receives, derived from one change of an order item (a stream record's old
 * and new image): a new order, its acknowledgement, its review, a fraud decision. Pure: the
 * publisher sends what this returns. Because events come from the table's stream, a write and its
 * event can never part: a function that dies after the write still gets its event published.
 */
import { mayShip, type FraudStatus, type OrderStatus } from './lifecycle.js';
import type { OrderRecord } from './order.js';

export const EVENT_SOURCE = 'klarna-serverless';
export const EVENT_SCHEMA_VERSION = 1;

export const eventTypes = {
  recorded: 'Order Recorded',
  acknowledged: 'Order Acknowledged',
  needsReview: 'Order Needs Review',
  fraudStatusChanged: 'Order Fraud Status Changed',
  klarnaStatusChanged: 'Order Klarna Status Changed',
  /** may_ship went from true to false: whatever the cause, do not ship (or stop the parcel). */
  shippingWithdrawn: 'Order Shipping Withdrawn',
} as const;
export type EventType = (typeof eventTypes)[keyof typeof eventTypes];

/** The `detail` of every event (docs/orders-and-events.md, its JSON Schemas in docs/events/). */
export type OrderEventDetail = {
  schema_version: typeof EVENT_SCHEMA_VERSION;
  order_id: string;
  /** The order item's version after the change: per order, a later change has a larger one. */
  sequence: number;
  occurred_at: string;
  status: OrderStatus;
  previous_status: OrderStatus | null;
  fraud_status: FraudStatus;
  previous_fraud_status: FraudStatus | null;
  /** Acknowledged, accepted by Klarna's fraud check and not cancelled: ship. */
  may_ship: boolean;
  klarna_status?: string;
  /** Only in `Order Klarna Status Changed` (and `Order Shipping Withdrawn` when that caused it). */
  previous_klarna_status?: string | null;
  /** Only in `Order Shipping Withdrawn`: what took shipping away. */
  withdrawn_by?: 'fraud_status' | 'klarna_status' | 'status';
  order_amount: number;
  purchase_currency: string;
  merchant_reference1?: string;
  merchant_reference2?: string;
  review_reason?: string;
  /** Only in `Order Recorded`: what the shop needs to fulfil the order. */
  order?: Partial<Pick<OrderRecord, 'order_lines' | 'shipping_address' | 'original_order_amount' | 'klarna_created_at' | 'klarna_expires_at'>> & {
    /** Instead of `order_lines` when they would not fit in an event: how many, and where to read them. */
    order_lines_omitted?: LinesOmitted;
  };
};

export type LinesOmitted = {
  reason: 'event_size';
  line_count: number | null;
  /** Klarna's Order Management read of the order (the shop's own credentials), which holds every line. */
  read_from: string;
};

/**
 * EventBridge refuses an entry over 256 KB (detail, detail-type, source, time and the JSON around
 * them). A detail over this is sent without its lines; the rest of the entry is far below 6 KB.
 */
export const MAX_DETAIL_BYTES = 250_000;

export type OrderEvent = { detailType: EventType; detail: OrderEventDetail };

const isRecord = (value: unknown): value is OrderRecord =>
  typeof value === 'object' && value !== null && typeof (value as { order_id?: unknown }).order_id === 'string' && typeof (value as { version?: unknown }).version === 'number';

const base = (record: OrderRecord, previous: OrderRecord | undefined): OrderEventDetail => {
  const detail: OrderEventDetail = {
    schema_version: EVENT_SCHEMA_VERSION,
    order_id: record.order_id,
    sequence: record.version,
    occurred_at: record.updated_at,
    status: record.status,
    previous_status: previous?.status ?? null,
    fraud_status: record.fraud_status,
    previous_fraud_status: previous?.fraud_status ?? null,
    may_ship: mayShip(record),
    order_amount: record.order_amount,
    purchase_currency: record.purchase_currency,
  };
  if (record.klarna_status !== undefined) detail.klarna_status = record.klarna_status;
  if (record.merchant_reference1 !== undefined) detail.merchant_reference1 = record.merchant_reference1;
  if (record.merchant_reference2 !== undefined) detail.merchant_reference2 = record.merchant_reference2;
  if (record.review_reason !== undefined) detail.review_reason = record.review_reason;
  return detail;
};

/**
 * Events for one change. New item: `Order Recorded`. A change of `version` (every status or
 * fraud_status change bumps it): the status event first, then the fraud event. Anything else (the
 * acknowledge lease, the TTL deleting an item) is bookkeeping and says nothing to the shop.
 */
export const eventsForChange = (oldImage: unknown, newImage: unknown): OrderEvent[] => {
  if (!isRecord(newImage)) return [];
  if (!isRecord(oldImage)) {
    const detail = base(newImage, undefined);
    const rest = {
      ...(newImage.shipping_address ? { shipping_address: newImage.shipping_address } : {}),
      ...(newImage.original_order_amount !== undefined ? { original_order_amount: newImage.original_order_amount } : {}),
      ...(newImage.klarna_created_at ? { klarna_created_at: newImage.klarna_created_at } : {}),
      ...(newImage.klarna_expires_at ? { klarna_expires_at: newImage.klarna_expires_at } : {}),
    };
    // Lines kept apart from the order item (orders-store.ts) are not in the image at all.
    const lines = Array.isArray(newImage.order_lines) ? newImage.order_lines : undefined;
    detail.order = { ...(lines ? { order_lines: lines } : {}), ...rest };
    if (!lines || Buffer.byteLength(JSON.stringify(detail), 'utf8') > MAX_DETAIL_BYTES) {
      const counted = (newImage as { line_count?: unknown }).line_count;
      detail.order = {
        ...rest,
        order_lines_omitted: {
          reason: 'event_size',
          line_count: lines ? lines.length : typeof counted === 'number' ? counted : null,
          read_from: `GET /ordermanagement/v1/orders/${newImage.order_id}`,
        },
      };
    }
    return [{ detailType: eventTypes.recorded, detail }];
  }
  if (newImage.version <= oldImage.version) return [];
  const events: OrderEvent[] = [];
  if (newImage.status !== oldImage.status) {
    if (newImage.status === 'acknowledged') events.push({ detailType: eventTypes.acknowledged, detail: base(newImage, oldImage) });
    if (newImage.status === 'needs_review') events.push({ detailType: eventTypes.needsReview, detail: base(newImage, oldImage) });
  }
  if (newImage.fraud_status !== oldImage.fraud_status) {
    events.push({ detailType: eventTypes.fraudStatusChanged, detail: base(newImage, oldImage) });
  }
  const klarnaChanged = newImage.klarna_status !== oldImage.klarna_status;
  if (klarnaChanged) {
    events.push({ detailType: eventTypes.klarnaStatusChanged, detail: { ...base(newImage, oldImage), previous_klarna_status: oldImage.klarna_status ?? null } });
  }
  if (mayShip(oldImage) && !mayShip(newImage)) {
    const withdrawnBy = newImage.fraud_status !== oldImage.fraud_status ? 'fraud_status' : klarnaChanged ? 'klarna_status' : 'status';
    const detail: OrderEventDetail = { ...base(newImage, oldImage), withdrawn_by: withdrawnBy };
    if (klarnaChanged) detail.previous_klarna_status = oldImage.klarna_status ?? null;
    events.push({ detailType: eventTypes.shippingWithdrawn, detail });
  }
  return events;
};
