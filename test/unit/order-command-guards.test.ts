/** The guards and the expiry decision, pure: each refusal's reason, and when the sweep warns, extends or alarms. */
import { parseCommand, fingerprintOf, type Command } from '../../functions/orders/commands/command.js';
import { expiryStep, autoExtendCommandId } from '../../functions/orders/commands/expiry.js';
import { decide, type GuardedOrder } from '../../functions/orders/commands/guards.js';
import type { LedgerRecord } from '../../functions/orders/commands/ports.js';
import { emptyLedger } from '../../functions/orders/ledger.js';

const NOW = Date.parse('2026-12-10T12:00:00.000Z');
const order = (overrides: Partial<GuardedOrder> = {}): GuardedOrder => ({
  order_id: 'o-1',
  status: 'acknowledged',
  fraud_status: 'ACCEPTED',
  klarna_status: 'AUTHORIZED',
  purchase_currency: 'SEK',
  klarna_expires_at: '2026-12-30T08:00:00.000Z',
  order_amount: 29_900,
  order_lines: [
    { type: 'physical', reference: 'TSHIRT-1', name: 'T-shirt', quantity: 2, unit_price: 12_500, tax_rate: 2500, total_amount: 25_000, total_discount_amount: 0, total_tax_amount: 5_000 },
    { type: 'shipping_fee', reference: 'standard', name: 'Delivery', quantity: 1, unit_price: 4_900, tax_rate: 2500, total_amount: 4_900, total_discount_amount: 0, total_tax_amount: 980 },
  ],
  ...overrides,
});
const ledger = (overrides: Partial<LedgerRecord> = {}): LedgerRecord => ({ state: emptyLedger(order()), version: 0, ...overrides });
const command = (kind: 'capture' | 'refund' | 'cancel' | 'release' | 'extend', body: Record<string, unknown> = {}): Command => {
  const parsed = parseCommand(kind, 'o-1', { command_id: 'c-1', ...body });
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.command;
};
const reasonOf = (c: Command, o = order(), l = ledger()): string => {
  const decision = decide(c, o, l, [], NOW);
  return decision.kind === 'refuse' ? decision.refusal.reason : decision.kind;
};
const captured = ledger({ state: { ...emptyLedger(order()), captured_units: [1, 1] }, version: 1 });

describe('guards', () => {
  it.each([
    ['a recorded order', order({ status: 'recorded' }), 'not_acknowledged'],
    ['an order in review', order({ status: 'needs_review' }), 'not_acknowledged'],
    ['fraud PENDING', order({ fraud_status: 'PENDING' }), 'fraud_status_not_accepted'],
    ['fraud STOPPED', order({ fraud_status: 'STOPPED' }), 'fraud_status_not_accepted'],
    ['cancelled by Klarna', order({ klarna_status: 'CANCELLED' }), 'order_cancelled'],
    ['closed by Klarna', order({ klarna_status: 'CLOSED' }), 'order_closed'],
    ['expired at Klarna', order({ klarna_status: 'EXPIRED' }), 'authorization_expired'],
    ['past expires_at', order({ klarna_expires_at: '2026-12-10T11:59:59.000Z' }), 'authorization_expired'],
    ['an accepted, acknowledged, running order', order(), 'money'],
  ])('capture of %s: %s', (_what, o, reason) => {
    expect(reasonOf(command('capture'), o)).toBe(reason);
  });

  it('extends only before expires_at, and uses the extended expires_at over the recorded one', () => {
    expect(reasonOf(command('extend'), order({ klarna_expires_at: '2026-12-01T00:00:00.000Z' }))).toBe('authorization_expired');
    expect(reasonOf(command('extend'), order({ klarna_expires_at: '2026-12-01T00:00:00.000Z' }), ledger({ expires_at: '2027-01-05T00:00:00.000Z' }))).toBe('state');
    expect(reasonOf(command('capture'), order(), ledger({ expires_at: '2026-12-10T00:00:00.000Z' }))).toBe('authorization_expired');
  });

  it('cancels only before a capture, releases only after one with something left, never twice', () => {
    expect(reasonOf(command('cancel'))).toBe('state');
    expect(reasonOf(command('cancel'), order(), captured)).toBe('has_captures');
    expect(reasonOf(command('release'))).toBe('no_captures');
    expect(reasonOf(command('release'), order(), captured)).toBe('state');
    expect(reasonOf(command('release'), order(), { ...captured, released_at: '2026-12-09T00:00:00.000Z' })).toBe('authorization_released');
    expect(reasonOf(command('release'), order(), ledger({ state: { ...emptyLedger(order()), captured_units: [2, 1] } }))).toBe('nothing_to_release');
    expect(reasonOf(command('cancel'), order(), ledger({ cancelled_at: '2026-12-09T00:00:00.000Z' }))).toBe('order_cancelled');
  });

  it('refunds at most what was captured', () => {
    expect(reasonOf(command('refund'))).toBe('no_captures');
    expect(reasonOf(command('refund', { amount: 17_401 }), order(), captured)).toBe('amount_exceeds_captured');
    expect(reasonOf(command('refund', { amount: 17_400 }), order(), captured)).toBe('money');
  });

  it('fingerprints the body, not the command id or key order', () => {
    const a = command('capture', { lines: [{ reference: 'A', quantity: 1 }], reference: 'x' });
    const b = parseCommand('capture', 'o-1', { reference: 'x', command_id: 'other', lines: [{ quantity: 1, reference: 'A' }] });
    const c = command('capture', { lines: [{ reference: 'A', quantity: 2 }], reference: 'x' });
    expect(b.ok && fingerprintOf(b.command)).toBe(fingerprintOf(a));
    expect(fingerprintOf(c)).not.toBe(fingerprintOf(a));
    expect(fingerprintOf(command('refund'))).not.toBe(fingerprintOf(command('capture')));
  });
});

describe('expiry', () => {
  const settings = { warningDays: 3, autoExtend: false };
  const at = (iso: string): GuardedOrder => order({ klarna_expires_at: iso });

  it('warns within the warning days, once per expires_at; not before; extends instead when told', () => {
    expect(expiryStep(at('2026-12-14T12:00:00.000Z'), undefined, NOW, settings)).toEqual({ kind: 'none' });
    expect(expiryStep(at('2026-12-12T12:00:00.000Z'), undefined, NOW, settings)).toMatchObject({ kind: 'warn', hours_left: 48, remaining_authorized_amount: 29_900 });
    expect(expiryStep(at('2026-12-12T12:00:00.000Z'), ledger({ expiring_notified_for: '2026-12-12T12:00:00.000Z' }), NOW, settings)).toEqual({ kind: 'none' });
    expect(expiryStep(at('2026-12-12T12:00:00.000Z'), undefined, NOW, { ...settings, autoExtend: true })).toMatchObject({ kind: 'extend' });
    expect(autoExtendCommandId('2026-12-12T12:00:00.000Z')).toBe('auto-extend-2026-12-12T12:00:00.000Z');
  });

  it('alarms once for an acknowledged order expired with authorization left, never for one fully captured, cancelled or not acknowledged', () => {
    const past = at('2026-12-09T12:00:00.000Z');
    expect(expiryStep(past, undefined, NOW, settings)).toMatchObject({ kind: 'expired', remaining_authorized_amount: 29_900 });
    expect(expiryStep(past, ledger({ expired_alarmed_for: '2026-12-09T12:00:00.000Z' }), NOW, settings)).toEqual({ kind: 'none' });
    expect(expiryStep(past, ledger({ state: { ...emptyLedger(order()), captured_units: [2, 1] } }), NOW, settings)).toEqual({ kind: 'none' });
    expect(expiryStep(past, ledger({ cancelled_at: '2026-12-01T00:00:00.000Z' }), NOW, settings)).toEqual({ kind: 'none' });
    expect(expiryStep({ ...past, status: 'needs_review' }, undefined, NOW, settings)).toEqual({ kind: 'none' });
  });
});
