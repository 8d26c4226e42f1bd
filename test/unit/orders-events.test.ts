import { MAX_DETAIL_BYTES, eventsForChange, eventTypes } from '../../functions/orders/events.js';
import { splitLines } from '../../functions/orders/orders-store.js';
import type { OrderRecord } from '../../functions/orders/order.js';

const record = (overrides: Partial<OrderRecord> = {}): OrderRecord => ({
  order_id: 'o-1',
  status: 'recorded',
  fraud_status: 'PENDING',
  klarna_status: 'AUTHORIZED',
  order_amount: 29900,
  original_order_amount: 29900,
  purchase_currency: 'SEK',
  order_lines: [{ type: 'physical', name: 'T-shirt', quantity: 1, total_amount: 29900 }],
  shipping_address: { given_name: 'Test', family_name: 'Person', street_address: 'Storgatan 1', postal_code: '11122', city: 'Stockholm', country: 'SE' },
  merchant_reference1: 'shop-1',
  recorded_at: '2026-12-02T08:00:00.000Z',
  updated_at: '2026-12-02T08:00:00.000Z',
  version: 1,
  ...overrides,
});

describe('eventsForChange', () => {
  it('a new item is one Order Recorded event with the order the shop needs', () => {
    const events = eventsForChange(undefined, record());
    expect(events).toEqual([
      {
        detailType: 'Order Recorded',
        detail: {
          schema_version: 1,
          order_id: 'o-1',
          sequence: 1,
          occurred_at: '2026-12-02T08:00:00.000Z',
          status: 'recorded',
          previous_status: null,
          fraud_status: 'PENDING',
          previous_fraud_status: null,
          may_ship: false,
          klarna_status: 'AUTHORIZED',
          order_amount: 29900,
          purchase_currency: 'SEK',
          merchant_reference1: 'shop-1',
          order: {
            order_lines: [{ type: 'physical', name: 'T-shirt', quantity: 1, total_amount: 29900 }],
            shipping_address: { given_name: 'Test', family_name: 'Person', street_address: 'Storgatan 1', postal_code: '11122', city: 'Stockholm', country: 'SE' },
            original_order_amount: 29900,
          },
        },
      },
    ]);
  });

  it('an acknowledgement of an accepted order says it may ship; a pending one says it may not', () => {
    const accepted = eventsForChange(record({ fraud_status: 'ACCEPTED' }), record({ fraud_status: 'ACCEPTED', status: 'acknowledged', version: 2 }));
    expect(accepted.map((e) => [e.detailType, e.detail.may_ship, e.detail.previous_status, e.detail.sequence])).toEqual([
      ['Order Acknowledged', true, 'recorded', 2],
    ]);
    expect(accepted[0]?.detail.order).toBeUndefined();
    const pending = eventsForChange(record(), record({ status: 'acknowledged', version: 2 }));
    expect(pending[0]?.detail).toMatchObject({ may_ship: false, fraud_status: 'PENDING' });
  });

  it('a review carries its reason', () => {
    const events = eventsForChange(record(), record({ status: 'needs_review', review_reason: 'expected_amount_mismatch', version: 2 }));
    expect(events.map((e) => [e.detailType, e.detail.review_reason])).toEqual([[eventTypes.needsReview, 'expected_amount_mismatch']]);
  });

  it('a fraud decision is its own event, after the status event of the same change', () => {
    const events = eventsForChange(record(), record({ status: 'acknowledged', fraud_status: 'ACCEPTED', version: 3 }));
    expect(events.map((e) => e.detailType)).toEqual(['Order Acknowledged', 'Order Fraud Status Changed']);
    const fraud = eventsForChange(record({ status: 'acknowledged', version: 2 }), record({ status: 'acknowledged', fraud_status: 'REJECTED', version: 3 }));
    expect(fraud.map((e) => [e.detailType, e.detail.previous_fraud_status, e.detail.fraud_status, e.detail.may_ship])).toEqual([
      ['Order Fraud Status Changed', 'PENDING', 'REJECTED', false],
    ]);
  });

  it('a stop of an order that may ship is a fraud event and an Order Shipping Withdrawn', () => {
    const shipping = record({ status: 'acknowledged', fraud_status: 'ACCEPTED', version: 2 });
    const events = eventsForChange(shipping, { ...shipping, fraud_status: 'STOPPED', version: 3 });
    expect(events.map((e) => [e.detailType, e.detail.may_ship, e.detail.withdrawn_by])).toEqual([
      ['Order Fraud Status Changed', false, undefined],
      ['Order Shipping Withdrawn', false, 'fraud_status'],
    ]);
  });

  it('a change of klarna_status is its own event; a cancellation of an order that may ship withdraws shipping', () => {
    const shipping = record({ status: 'acknowledged', fraud_status: 'ACCEPTED', version: 2 });
    const captured = eventsForChange(shipping, { ...shipping, klarna_status: 'CAPTURED', version: 3 });
    expect(captured.map((e) => [e.detailType, e.detail.previous_klarna_status, e.detail.klarna_status, e.detail.may_ship])).toEqual([
      ['Order Klarna Status Changed', 'AUTHORIZED', 'CAPTURED', true],
    ]);
    const cancelled = eventsForChange(shipping, { ...shipping, klarna_status: 'CANCELLED', version: 3 });
    expect(cancelled.map((e) => [e.detailType, e.detail.withdrawn_by ?? null, e.detail.may_ship])).toEqual([
      ['Order Klarna Status Changed', null, false],
      ['Order Shipping Withdrawn', 'klarna_status', false],
    ]);
    // An order that could not ship before has nothing withdrawn.
    expect(eventsForChange(record(), record({ klarna_status: 'CANCELLED', version: 2 })).map((e) => e.detailType)).toEqual(['Order Klarna Status Changed']);
  });

  it('an Order Recorded that would pass EventBridge\'s 256 KB leaves the lines out and says where to read them', () => {
    const lines = Array.from({ length: 1000 }, (_, i) => ({ type: 'physical', name: `N${i}`.padEnd(255, 'n'), quantity: 1, total_amount: 100 }));
    const [event] = eventsForChange(undefined, record({ order_lines: lines }));
    expect(Buffer.byteLength(JSON.stringify(event?.detail))).toBeLessThan(MAX_DETAIL_BYTES);
    expect(event?.detail.order).toEqual({
      shipping_address: record().shipping_address,
      original_order_amount: 29900,
      order_lines_omitted: { reason: 'event_size', line_count: 1000, read_from: 'GET /ordermanagement/v1/orders/o-1' },
    });
    // Lines kept apart from the item (not in the stream image): the count the store kept.
    const apart = { ...record(), order_lines: undefined, line_parts: 2, line_count: 1000 };
    expect(eventsForChange(undefined, apart)[0]?.detail.order?.order_lines_omitted).toMatchObject({ line_count: 1000 });
  });

  it('bookkeeping (lease, no version change) and deletions say nothing', () => {
    expect(eventsForChange(record(), { ...record(), ack_lease_until: 1 })).toEqual([]);
    expect(eventsForChange(record(), undefined)).toEqual([]);
    expect(eventsForChange(undefined, { order_id: 'x' })).toEqual([]);
  });
});

describe('splitLines', () => {
  it('keeps every line, in order, in parts under the bound', () => {
    const lines = Array.from({ length: 100 }, (_, i) => ({ i, name: 'x'.repeat(i * 10) }));
    const parts = splitLines(lines, 5000);
    expect(parts.flat()).toEqual(lines);
    expect(parts.length).toBeGreaterThan(1);
    for (const part of parts) expect(part.length === 1 || Buffer.byteLength(JSON.stringify(part)) <= 5000).toBe(true);
    expect(splitLines([], 5000)).toEqual([]);
  });
});
