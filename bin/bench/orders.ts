/**
 * Orders for the benchmark, built from Klarna's own example line (the seed request in
 * test/fixtures/seed), so every line carries what Klarna sends: product_identifiers,
 * shipping_attributes, subscription, merchant_data… Prices are consistent (total = quantity ×
 * unit_price, tax included at 25 %), the address is Swedish and the example rules
 * (bin/local/example-rules.json) accept the order, so each callback takes its normal path.
 */
import { readFileSync } from 'node:fs';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { includedTax } from '../../functions/kco/money.js';
import type { OrderLine, UpdateResponse } from '../../functions/kco/order.js';
import type { CallbackName } from '../../functions/kco/handlers/kco-handler.js';
import { exampleOmOrder } from '../local/fake-order-management.js';
import { apiGatewayEvent, kcoCallbackEvent, lambdaContext } from '../local/server.js';

/** Klarna caps an order at 1000 lines (order_lines maxItems). */
export const MAX_LINES = 1000;

const seed = JSON.parse(readFileSync('test/fixtures/seed/address-update.request.json', 'utf8')) as { order_lines: OrderLine[] };
const seedLine = seed.order_lines[0];
if (!seedLine) throw new Error('test/fixtures/seed/address-update.request.json has no order line');

/** Line `i`: the seed line with its own reference and name, 1–3 pieces at 19.00–28.00 SEK, 25 % VAT. */
export const benchLine = (i: number): OrderLine => {
  const quantity = 1 + (i % 3);
  const unitPrice = 1900 + (i % 10) * 100;
  const total = quantity * unitPrice;
  return {
    ...seedLine,
    reference: `${seedLine.reference ?? 'SKU'}-${i + 1}`,
    name: `${seedLine.name} ${i + 1}`,
    quantity,
    unit_price: unitPrice,
    tax_rate: 2500,
    total_amount: total,
    total_discount_amount: 0,
    total_tax_amount: includedTax(total, 2500),
  };
};

/** A shopper in Stockholm, with the personal fields Klarna sends (the rules never look at them). */
export const swedishAddress = {
  given_name: 'Test',
  family_name: 'Person',
  email: 'test.person@example.com',
  title: 'Mx',
  street_address: 'Sveavägen 1',
  street_address2: 'Lgh 1201',
  postal_code: '111 57',
  city: 'Stockholm',
  phone: '+46701740615',
  country: 'SE',
};

const totals = (lines: readonly OrderLine[]) => ({
  order_amount: lines.reduce((sum, l) => sum + l.total_amount, 0),
  order_tax_amount: lines.reduce((sum, l) => sum + l.total_tax_amount, 0),
});

/**
 * address_update with `lines` goods lines (the first callback: no shipping fee line yet). Klarna's
 * cap of 1000 lines counts our fee line too, so a 1000-line checkout starts with 999 goods lines
 * (with 1000 the callback refuses: too_many_lines).
 */
export const addressUpdateBody = (lines: number): Record<string, unknown> => {
  const orderLines = Array.from({ length: Math.min(lines, MAX_LINES - 1) }, (_, i) => benchLine(i));
  return {
    ...totals(orderLines),
    order_lines: orderLines,
    purchase_currency: 'SEK',
    billing_address: swedishAddress,
    shipping_address: swedishAddress,
    locale: 'sv-SE',
    merchant_data: 'cart-42',
    customer: { type: 'person' },
  };
};

/**
 * shipping_option_update after our address_update answer: the lines we answered (goods + our
 * fee line), and the shopper picks `optionId`. Klarna's cap of 1000 lines keeps the last goods
 * line out when the fee line would make 1001.
 */
export const shippingOptionUpdateBody = (previous: Record<string, unknown>, answer: UpdateResponse, optionId: string): Record<string, unknown> => {
  const option = answer.shipping_options?.find((o) => o.id === optionId);
  if (!option) throw new Error(`the answer offers no shipping option ${optionId}`);
  const lines = capLines(answer.order_lines);
  return { ...previous, ...totals(lines), order_lines: lines, selected_shipping_option: { ...option, preselected: true } };
};

/** The order Klarna sends to validation after our last answer: its lines, totals and option. */
export const validationBody = (previous: Record<string, unknown>, answer: UpdateResponse, orderId: string): Record<string, unknown> => {
  const selected = answer.shipping_options?.find((o) => o.preselected);
  return {
    ...previous,
    order_id: orderId,
    purchase_country: 'SE',
    order_amount: answer.order_amount,
    order_tax_amount: answer.order_tax_amount,
    order_lines: answer.order_lines,
    ...(selected ? { selected_shipping_option: selected } : {}),
  };
};

const capLines = (lines: readonly OrderLine[]): OrderLine[] => {
  if (lines.length <= MAX_LINES) return [...lines];
  const fee = lines.filter((l) => l.type === 'shipping_fee');
  const goods = lines.filter((l) => l.type !== 'shipping_fee');
  return [...goods.slice(0, MAX_LINES - fee.length), ...fee];
};

/** The event Klarna's POST to one callback becomes (the local server's own builder). */
export const callbackEvent = (callback: CallbackName, orderId: string, body: string, token: string): APIGatewayProxyEvent =>
  kcoCallbackEvent(callback, orderId, body, { token });

/** GET /osm/placements/{placement_key}, as a shop's page asks for its messaging. */
export const placementEvent = (placementKey: string, locale: string, purchaseAmount: number): APIGatewayProxyEvent =>
  apiGatewayEvent({
    method: 'GET',
    resource: '/osm/placements/{placement_key}',
    path: `/osm/placements/${placementKey}`,
    pathParameters: { placement_key: placementKey },
    query: { locale, purchase_amount: String(purchaseAmount) },
    headers: { accept: 'application/json' },
  });

export { lambdaContext };

/**
 * The order as Klarna's Order Management API returns it after the purchase: `lines` bench lines,
 * their totals, the Swedish shopper, fraud_status ACCEPTED (the stand-in's example otherwise).
 */
export const benchOmOrder = (orderId: string, lines: number): Record<string, unknown> & { order_id: string } => {
  const orderLines = Array.from({ length: Math.min(lines, MAX_LINES) }, (_, i) => benchLine(i));
  const { order_amount } = totals(orderLines);
  return exampleOmOrder(orderId, {
    order_amount,
    original_order_amount: order_amount,
    remaining_authorized_amount: order_amount,
    order_lines: orderLines,
    billing_address: swedishAddress,
    shipping_address: swedishAddress,
  });
};

/** POST /kco/orders/{order_id}/push or …/notification, as Klarna sends it (the push has no body). */
export const orderEvent = (name: 'push' | 'notification', orderId: string, token: string): APIGatewayProxyEvent =>
  kcoCallbackEvent(
    name,
    orderId,
    name === 'notification' ? JSON.stringify({ order_id: orderId, event_type: 'FRAUD_RISK_ACCEPTED' }) : null,
    { token, headers: name === 'notification' ? { 'content-type': 'application/json' } : {} },
  );
