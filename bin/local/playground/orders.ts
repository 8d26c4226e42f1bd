/**
 * Orders the playground offers to start from: Klarna's own example payloads (test/fixtures/seed,
 * transcribed from the callback reference) and a few of ours that fit the example rules `npm start`
 * seeds. Addresses are invented; amounts are minor units and reconcile as Klarna checks them.
 */
import { includedTax } from '../../../functions/kco/money.js';
import type { Address, OrderLine } from '../../../functions/kco/order.js';
import { EXAMPLE_ORDER_ID } from '../start.js';
import klarnaAddressUpdate from '../../../test/fixtures/seed/address-update.request.json';
import klarnaValidation from '../../../test/fixtures/seed/validation.order.json';

export type PlaygroundOrder = {
  /** Stable key for the picker. */
  key: string;
  label: string;
  source: 'klarna' | 'ours';
  /** The order id Klarna puts in the callback URL; it selects the `order#<id>` rules. */
  orderId: string;
  order: Record<string, unknown>;
};

const goods = (reference: string, name: string, quantity: number, unitPrice: number, taxRate: number): OrderLine => {
  const total = quantity * unitPrice;
  return {
    type: 'physical',
    reference,
    name,
    quantity,
    unit_price: unitPrice,
    tax_rate: taxRate,
    total_amount: total,
    total_discount_amount: 0,
    total_tax_amount: includedTax(total, taxRate),
  };
};

/** A cart as the shop creates the Klarna order: goods only; the callbacks add shipping. */
const cart = (currency: string, locale: string, address: Address, lines: OrderLine[]): Record<string, unknown> => ({
  order_amount: lines.reduce((sum, l) => sum + l.total_amount, 0),
  order_tax_amount: lines.reduce((sum, l) => sum + l.total_tax_amount, 0),
  purchase_currency: currency,
  locale,
  billing_address: address,
  shipping_address: address,
  order_lines: lines,
});

const stockholm: Address = { street_address: 'Testgatan 1', postal_code: '111 57', city: 'Stockholm', country: 'SE' };
const berlin: Address = { street_address: 'Teststraße 5', postal_code: '10117', city: 'Berlin', country: 'DE' };
const sanFrancisco: Address = { street_address: '1 Example Ave', postal_code: '94105', city: 'San Francisco', region: 'CA', country: 'US' };

/** A function, not a constant: start.ts (which serves the playground) owns EXAMPLE_ORDER_ID. */
export const playgroundOrders = (): readonly PlaygroundOrder[] => [
  {
    key: 'se-tshirt',
    label: 'Ours: a T-shirt to Stockholm (SEK, 25 % VAT)',
    source: 'ours',
    orderId: 'my-order-1',
    order: cart('SEK', 'sv-SE', stockholm, [goods('TS-1', 'T-shirt', 1, 19900, 2500)]),
  },
  {
    key: 'example-order-1',
    label: `Ours: ${EXAMPLE_ORDER_ID}, a hoodie the shop priced at 448.00 with standard delivery (order rules)`,
    source: 'ours',
    orderId: EXAMPLE_ORDER_ID,
    order: cart('SEK', 'sv-SE', stockholm, [goods('HOODIE-2', 'Hoodie', 1, 39900, 2500)]),
  },
  {
    key: 'de-book',
    label: 'Ours: a book and a mug to Berlin (EUR, reduced rate for the book)',
    source: 'ours',
    orderId: 'my-order-2',
    order: cart('EUR', 'de-DE', berlin, [goods('BOOK-001', 'A book', 1, 2400, 700), goods('MUG-4', 'Mug', 2, 1200, 1900)]),
  },
  {
    key: 'us-cap',
    label: 'Ours: a cap to San Francisco (USD; try it with bin/local/example-us-rules.json)',
    source: 'ours',
    orderId: 'my-us-order',
    order: cart('USD', 'en-US', sanFrancisco, [goods('CAP-5', 'Cap', 2, 2500, 0)]),
  },
  {
    key: 'klarna-address-update',
    label: "Klarna's example: the address_update body from the callback reference",
    source: 'klarna',
    orderId: 'klarna-example',
    order: klarnaAddressUpdate as Record<string, unknown>,
  },
  {
    key: 'klarna-validation',
    label: "Klarna's example: the full order validation receives",
    source: 'klarna',
    orderId: 'klarna-example',
    order: klarnaValidation as Record<string, unknown>,
  },
];
