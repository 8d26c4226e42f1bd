/**
 * How `npm start` prints an order event: what the shop's EventBridge rule would receive, with the
 * personal data masked. A terminal's scrollback, a CI log or a screen share is no place for a
 * shopper's name and address; the ids, amounts and statuses are what a developer looks at.
 */
import type { BusEvent } from './fake-eventbridge.js';

export const MASK = '***';

/** Fields that name or reach a person wherever they appear (Klarna's address and customer fields). */
const personalKeys: ReadonlySet<string> = new Set([
  'given_name',
  'family_name',
  'title',
  'organization_name',
  'attention',
  'street_address',
  'street_address2',
  'street_name',
  'street_number',
  'house_extension',
  'postal_code',
  'city',
  'region',
  'care_of',
  'email',
  'phone',
  'date_of_birth',
  'national_identification_number',
]);

const mask = (value: unknown, inAddress: boolean): unknown => {
  if (Array.isArray(value)) return value.map((item) => mask(item, inAddress));
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, inner]) => {
      const address = inAddress || /address/i.test(key) || key === 'customer';
      // Within an address everything but the country is personal; elsewhere the known keys are.
      if ((address && key !== 'country' && typeof inner !== 'object') || personalKeys.has(key)) return [key, inner === undefined ? inner : MASK];
      return [key, mask(inner, address)];
    }),
  );
};

/** The event's detail with every personal field replaced by `***`. */
export const maskPersonalData = (detail: Record<string, unknown>): Record<string, unknown> => mask(detail, false) as Record<string, unknown>;

/** The two lines `npm start` prints for one event. */
export const formatOrderEvent = (event: BusEvent): string => {
  const { order_id, sequence, status, fraud_status, may_ship, command_id, reason } = event.detail;
  // A command's event (capture, refund, …) has no sequence: its command id and reason say more.
  const summary =
    sequence === undefined
      ? `command ${String(command_id ?? '-')}${reason === undefined ? '' : `, reason ${String(reason)}`}`
      : `#${String(sequence)}: ${String(status)}, fraud ${String(fraud_status)}, may_ship ${String(may_ship)}`;
  return `event ${event.source} "${event.detailType}" order ${String(order_id)} ${summary}\n  detail: ${JSON.stringify(maskPersonalData(event.detail))}\n`;
};
