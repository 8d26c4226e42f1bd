/**
 * The check of Klarna's order against that order's rules before we acknowledge it: the same
 * comparison validation makes (`checkExpectedOrder`: currency, `expected_order_amount` before
 * Klarna's discounts, `expected_order_lines`), after the same refusals when the rules say nothing
 * (`rules_missing`), are broken (`rules_invalid`) or require an order scope the shop never wrote
 * (`order_unknown`). Any refusal sets the order aside for a person; it is not acknowledged.
 */
import { checkExpectedOrder, type ExpectedOrderCheck, type OrderToCompare } from '../kco/expected-order.js';
import { orderLineTypes, type OrderLine, type OrderLineType } from '../kco/order.js';
import { orderScope, orderScopeRefusal, type RulesLookup } from '../kco/rules.js';
import type { OmOrder } from './order.js';

export type OrderCheck = ExpectedOrderCheck | { ok: false; reason: 'rules_invalid' | 'rules_missing' | 'order_unknown' };

const isLineType = (value: string | undefined): value is OrderLineType => (orderLineTypes as readonly string[]).includes(value ?? '');

/**
 * Order Management's order in the shape the comparison reads. Fields Order Management may leave
 * out are filled the way Klarna defines them (one piece at its total, nothing discounted).
 */
export const orderToCompare = (order: OmOrder): OrderToCompare => ({
  order_amount: order.order_amount,
  purchase_currency: order.purchase_currency,
  order_lines: order.order_lines.map(
    (line): OrderLine => ({
      ...(isLineType(line.type) ? { type: line.type } : {}),
      ...(line.reference ? { reference: line.reference } : {}),
      name: line.name ?? '',
      quantity: line.quantity ?? 1,
      unit_price: line.unit_price ?? line.total_amount,
      tax_rate: line.tax_rate ?? 0,
      total_amount: line.total_amount,
      total_discount_amount: line.total_discount_amount ?? 0,
      total_tax_amount: line.total_tax_amount ?? 0,
    }),
  ),
  ...(order.discount_lines ? { discount_lines: order.discount_lines } : {}),
});

/** 'unavailable': the rules could not be read now; decide nothing and try again later. */
export const checkOrderAgainstRules = (orderId: string, order: OmOrder, lookup: RulesLookup): OrderCheck | 'unavailable' => {
  switch (lookup.status) {
    case 'unavailable':
      return 'unavailable';
    case 'invalid':
      return { ok: false, reason: 'rules_invalid' };
    case 'missing':
      return { ok: false, reason: 'rules_missing' };
    case 'ok': {
      const refusal = orderScopeRefusal(lookup.rules, lookup.scopesFound.includes(orderScope(orderId)));
      if (refusal === 'order_unknown') return { ok: false, reason: 'order_unknown' };
      return checkExpectedOrder(orderToCompare(order), lookup.rules);
    }
  }
};
