import fc from 'fast-check';
import {
  canMoveFraudStatus,
  fraudStatusClaimedBy,
  nextKlarnaStatus,
  canMoveStatus,
  fraudStatusFrom,
  fraudStatuses,
  fraudStatusesBefore,
  mayShip,
  nextFraudStatus,
  nextStep,
  orderStatuses,
  statusesBefore,
  type FraudStatus,
  type OrderStatus,
} from '../../functions/orders/lifecycle.js';

describe('order status', () => {
  it('moves recorded to acknowledged or needs_review, and needs_review only to acknowledged', () => {
    const allowed = orderStatuses.flatMap((from) => orderStatuses.filter((to) => canMoveStatus(from, to)).map((to) => `${from}>${to}`));
    expect(allowed).toEqual(['recorded>acknowledged', 'recorded>needs_review', 'needs_review>acknowledged']);
  });

  it('names the statuses an update may start from', () => {
    expect(statusesBefore('acknowledged')).toEqual(['recorded', 'needs_review']);
    expect(statusesBefore('needs_review')).toEqual(['recorded']);
    expect(statusesBefore('recorded')).toEqual([]);
  });

  it('never goes backwards, whatever order the attempts come in', () => {
    const rank: Record<OrderStatus, number> = { recorded: 0, needs_review: 1, acknowledged: 2 };
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...orderStatuses), { maxLength: 20 }), (attempts) => {
        let status: OrderStatus = 'recorded';
        for (const to of attempts) {
          const before = status;
          if (canMoveStatus(status, to)) status = to;
          expect(rank[status]).toBeGreaterThanOrEqual(rank[before]);
        }
      }),
    );
  });
});

describe('fraud_status', () => {
  it('leaves PENDING for any decision, ACCEPTED only to a stop, and never leaves REJECTED or STOPPED', () => {
    const allowed = fraudStatuses.flatMap((from) => fraudStatuses.filter((to) => canMoveFraudStatus(from, to)).map((to) => `${from}>${to}`));
    expect(allowed).toEqual(['PENDING>ACCEPTED', 'PENDING>REJECTED', 'PENDING>STOPPED', 'ACCEPTED>REJECTED', 'ACCEPTED>STOPPED']);
    expect(fraudStatusesBefore('ACCEPTED')).toEqual(['PENDING']);
    expect(fraudStatusesBefore('PENDING')).toEqual([]);
  });

  it('ignores a late ACCEPTED after a rejection and a stale PENDING after an acceptance', () => {
    expect(nextFraudStatus('REJECTED', 'ACCEPTED')).toBeUndefined();
    expect(nextFraudStatus('ACCEPTED', 'PENDING')).toBeUndefined();
    expect(nextFraudStatus('ACCEPTED', 'ACCEPTED')).toBeUndefined();
    expect(nextFraudStatus('PENDING', 'ACCEPTED')).toBe('ACCEPTED');
    expect(nextFraudStatus('ACCEPTED', 'STOPPED')).toBe('STOPPED');
  });

  it('treats a value Klarna does not document as PENDING (do not ship)', () => {
    expect(fraudStatusFrom('ACCEPTED')).toBe('ACCEPTED');
    expect(fraudStatusFrom('accepted')).toBe('PENDING');
    expect(fraudStatusFrom(undefined)).toBe('PENDING');
    expect(fraudStatusFrom(42)).toBe('PENDING');
  });

  it('ends every sequence of reads in a state that no later read can make shippable once rejected', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...fraudStatuses), { maxLength: 20 }), (reads) => {
        let fraud: FraudStatus = 'PENDING';
        let rejected = false;
        for (const read of reads) {
          fraud = nextFraudStatus(fraud, read) ?? fraud;
          if (fraud === 'REJECTED' || fraud === 'STOPPED') rejected = true;
          if (rejected) expect(['REJECTED', 'STOPPED']).toContain(fraud);
        }
      }),
    );
  });
});

describe('mayShip', () => {
  it('only for an acknowledged, accepted order Klarna has not cancelled', () => {
    expect(mayShip({ status: 'acknowledged', fraud_status: 'ACCEPTED', klarna_status: 'AUTHORIZED' })).toBe(true);
    expect(mayShip({ status: 'acknowledged', fraud_status: 'PENDING', klarna_status: 'AUTHORIZED' })).toBe(false);
    expect(mayShip({ status: 'recorded', fraud_status: 'ACCEPTED', klarna_status: 'AUTHORIZED' })).toBe(false);
    expect(mayShip({ status: 'needs_review', fraud_status: 'ACCEPTED', klarna_status: 'AUTHORIZED' })).toBe(false);
    expect(mayShip({ status: 'acknowledged', fraud_status: 'ACCEPTED', klarna_status: 'CANCELLED' })).toBe(false);
    expect(mayShip({ status: 'acknowledged', fraud_status: 'STOPPED' })).toBe(false);
  });

  it('for an acknowledged, accepted order whose Klarna status was never read (no status is no cancellation)', () => {
    expect(mayShip({ status: 'acknowledged', fraud_status: 'ACCEPTED' })).toBe(true);
    expect(mayShip({ status: 'acknowledged', fraud_status: 'ACCEPTED', klarna_status: undefined })).toBe(true);
  });
});

describe('nextStep', () => {
  it('checks only a recorded order and acknowledges it when the check passes', () => {
    let asked = 0;
    const pass = () => {
      asked += 1;
      return { ok: true as const };
    };
    expect(nextStep('recorded', pass)).toEqual({ kind: 'acknowledge' });
    expect(nextStep('acknowledged', pass)).toEqual({ kind: 'none' });
    expect(nextStep('needs_review', pass)).toEqual({ kind: 'none' });
    expect(asked).toBe(1);
    expect(nextStep('recorded', () => ({ ok: false, reason: 'expected_amount_mismatch' }))).toEqual({
      kind: 'review',
      reason: 'expected_amount_mismatch',
    });
  });
});

describe('what a notification and a read may change', () => {
  it('a notification claims only a stop or a rejection, never an acceptance', () => {
    expect(fraudStatusClaimedBy('FRAUD_RISK_STOPPED')).toBe('STOPPED');
    expect(fraudStatusClaimedBy('FRAUD_RISK_REJECTED')).toBe('REJECTED');
    expect(fraudStatusClaimedBy('FRAUD_RISK_ACCEPTED')).toBeUndefined();
    expect(fraudStatusClaimedBy('unknown')).toBeUndefined();
    expect(fraudStatusClaimedBy(undefined)).toBeUndefined();
  });

  it('klarna_status follows every read, except out of a closed status', () => {
    expect(nextKlarnaStatus('AUTHORIZED', 'CAPTURED')).toBe('CAPTURED');
    expect(nextKlarnaStatus(undefined, 'AUTHORIZED')).toBe('AUTHORIZED');
    expect(nextKlarnaStatus('AUTHORIZED', 'AUTHORIZED')).toBeUndefined();
    expect(nextKlarnaStatus('AUTHORIZED', undefined)).toBeUndefined();
    for (const closed of ['CANCELLED', 'EXPIRED', 'CLOSED']) expect(nextKlarnaStatus(closed, 'AUTHORIZED')).toBeUndefined();
  });
});
