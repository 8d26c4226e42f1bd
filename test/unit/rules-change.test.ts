/**
 * What one rules write means (functions/rules/change.ts) and what changed between two versions
 * (functions/rules/diff.ts): versions, the event, its limits, the diff lines.
 */
import { parseRulesDocument } from '../../functions/kco/rules.js';
import {
  DEFAULT_DELETED_MESSAGE,
  MAX_EVENT_ISSUES,
  NOT_A_SCOPE_MESSAGE,
  changedFields,
  recordedAlready,
  eventForWrite,
  scopeKindOf,
  scopeKinds,
  sequenceAfter,
  versionsFor,
  type RulesWrite,
} from '../../functions/rules/change.js';
import { diffDocuments, formatChanges } from '../../functions/rules/diff.js';
import { readImage } from '../../functions/rules/history-store.js';
import { rulesScopeKinds } from '../../functions/shared/metrics.js';

const at = '2026-12-07T18:00:00.000Z';
const write = (overrides: Partial<RulesWrite> & Pick<RulesWrite, 'scope'>): RulesWrite => {
  const after = 'after' in overrides ? overrides.after : { block_po_boxes: true };
  return {
    version: 2,
    previousVersion: 1,
    occurredAt: at,
    before: { block_po_boxes: false },
    ...overrides,
    ...(after === undefined ? {} : { after, parsed: overrides.parsed ?? parseRulesDocument(overrides.scope, after) }),
  };
};

describe('versions', () => {
  it.each([
    ['a new scope', undefined, false, { previous: null, next: 1 }],
    ['a scope stored before anything was recorded', undefined, true, { previous: 1, next: 2 }],
    ['a recorded scope', { latestVersion: 6, present: false, lastSequence: '9' }, false, { previous: 6, next: 7 }],
  ] as const)('%s', (_name, head, hadOld, expected) => {
    expect(versionsFor(head, hadOld)).toEqual(expected);
  });

  it('compares stream sequence numbers as numbers, beyond what a double holds', () => {
    expect(sequenceAfter('100000000000000000000000000010', '99999999999999999999999999999')).toBe(true);
    expect(sequenceAfter('4421584500000000017450439091', '4421584500000000017450439091')).toBe(false);
    expect(sequenceAfter('1', undefined)).toBe(true);
  });

  it('a record is recorded already only when the head comes from the same stream and is not older', () => {
    const head = { latestVersion: 3, present: true, lastSequence: '500', lastStream: 'arn:stream/2026-12-01' };
    expect(recordedAlready(head, '500', 'arn:stream/2026-12-01')).toBe(true);
    expect(recordedAlready(head, '499', 'arn:stream/2026-12-01')).toBe(true);
    expect(recordedAlready(head, '501', 'arn:stream/2026-12-01')).toBe(false);
    // The stream was turned off and on: a new one, whose numbers say nothing about the old one's.
    expect(recordedAlready(head, '7', 'arn:stream/2026-12-07')).toBe(false);
    expect(recordedAlready(undefined, '7', undefined)).toBe(false);
  });
});

describe('the event of a write', () => {
  it('a valid change: Rules Changed with the top-level fields that changed, never their values', () => {
    const event = eventForWrite(write({ scope: 'default', before: { block_po_boxes: false, min_order_amount: 100 }, after: { block_po_boxes: true, min_order_amount: 100, purchase_currency: 'SEK' } }));
    expect(event).toEqual({
      detailType: 'Rules Changed',
      detail: { schema_version: 1, scope: 'default', scope_kind: 'default', version: 2, previous_version: 1, occurred_at: at, change: 'updated', changed_fields: ['block_po_boxes', 'purchase_currency'] },
    });
  });

  it('an invalid document: Rules Rejected with path and message, shopper texts left out', () => {
    const text = 'Wir liefern leider nicht an Packstationen, bitte geben Sie eine Straße an.';
    const event = eventForWrite(write({ scope: 'order#42', after: { max_quantity_per_line: 0, error_texts: { parcel_locker: text } } }));
    expect(event).toEqual({
      detailType: 'Rules Rejected',
      detail: expect.objectContaining({ scope: 'order#42', scope_kind: 'order', problem: 'invalid', issue_count: 1, issues: [{ path: 'max_quantity_per_line', message: 'must be at least 1' }] }),
    });
    expect(JSON.stringify(event)).not.toContain('Packstation');
  });

  it(`carries at most ${MAX_EVENT_ISSUES} issues and the count of all, each clipped`, () => {
    const issues = Array.from({ length: 30 }, (_, i) => ({ scope: 'default', path: `f${i}`, message: 'x'.repeat(500) }));
    const event = eventForWrite(write({ scope: 'default', after: {}, parsed: { ok: false, issues } }));
    if (event.detailType !== 'Rules Rejected') throw new Error('expected a rejection');
    expect(event.detail.issue_count).toBe(30);
    expect(event.detail.issues).toHaveLength(MAX_EVENT_ISSUES);
    expect(event.detail.issues[0]?.message).toHaveLength(200);
  });

  it('a deleted default is a rejection (no rules: no approvals); a deleted order scope is a change', () => {
    expect(eventForWrite(write({ scope: 'default', after: undefined }))).toMatchObject({
      detailType: 'Rules Rejected',
      detail: { problem: 'default_deleted', issues: [{ path: '(scope)', message: DEFAULT_DELETED_MESSAGE }] },
    });
    expect(eventForWrite(write({ scope: 'order#1', after: undefined }))).toMatchObject({ detailType: 'Rules Changed', detail: { change: 'deleted', changed_fields: ['block_po_boxes'] } });
  });

  it('an item no callback reads (a typo of the scope) is rejected as "other", even when its document is valid', () => {
    expect(scopeKindOf('Default')).toBe('other');
    expect(eventForWrite(write({ scope: 'Default', before: undefined, previousVersion: null, version: 1 }))).toMatchObject({
      detailType: 'Rules Rejected',
      detail: { scope_kind: 'other', problem: 'invalid', issues: [{ path: '(scope)', message: NOT_A_SCOPE_MESSAGE }], previous_version: null },
    });
  });

  it('names at most 100 changed fields, each clipped (an item under another key may carry any)', () => {
    const before = Object.fromEntries(Array.from({ length: 150 }, (_, i) => [`${'k'.repeat(300)}${String(i).padStart(3, '0')}`, i]));
    const event = eventForWrite(write({ scope: 'order#9', before, after: undefined }));
    if (event.detailType !== 'Rules Changed') throw new Error('expected a change');
    expect(event.detail.changed_fields).toHaveLength(100);
    expect(event.detail.changed_fields[0]).toHaveLength(200);
  });

  it('a new scope is created; attribute order and sets do not make a change', () => {
    expect(eventForWrite(write({ scope: 'order#7', before: undefined, previousVersion: null, version: 1 }))).toMatchObject({ detail: { change: 'created', changed_fields: ['block_po_boxes'] } });
    expect(changedFields({ a: { x: 1, y: [1, 2] } }, { a: { y: [1, 2], x: 1 } })).toEqual([]);
  });

  it('the metric and the events know the same kinds of scope', () => {
    expect([...scopeKinds]).toEqual([...rulesScopeKinds]);
  });
});

describe('diff', () => {
  it('names each changed leaf by its path and shows the values', () => {
    const before = { min_order_amount: 100, shipping_options: [{ id: 'std', price: 4900 }], tax: { mode: 'vat' } };
    const after = { min_order_amount: '100', shipping_options: [{ id: 'std', price: 0 }], colour: 'red' };
    expect(formatChanges(diffDocuments(before, after))).toEqual([
      '~ min_order_amount: 100 → "100"',
      '~ shipping_options[0].price: 4900 → 0',
      '- tax: {"mode":"vat"}',
      '+ colour: "red"',
    ]);
  });

  it('a number beyond the safe range (a console edit) is refused as the callbacks refuse it, and shown with its digits', () => {
    const image = readImage('default', { scope: { S: 'default' }, min_order_amount: { N: '12345678901234567890' }, updated_by: { S: 'console' } });
    expect(image.parsed).toEqual({ ok: false, issues: [{ scope: 'default', path: 'min_order_amount', message: 'expected number' }] });
    expect(image.updatedBy).toBe('console');
    expect(formatChanges(diffDocuments({ min_order_amount: 100 }, image.document))).toEqual(['~ min_order_amount: 100 → "12345678901234567890n"']);
  });

  it('an array of another length is one change; long values are clipped', () => {
    expect(formatChanges(diffDocuments({ a: [1] }, { a: [1, 2] }))).toEqual(['~ a: [1] → [1,2]']);
    expect(formatChanges(diffDocuments({}, { t: 'y'.repeat(300) }), 20)).toEqual([`+ t: "${'y'.repeat(18)}…`]);
    expect(diffDocuments({ a: 1 }, { a: 1 })).toEqual([]);
  });
});
