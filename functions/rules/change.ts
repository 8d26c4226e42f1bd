/**
 * What one write to the rules table means: its version numbers, whether the callbacks can use
 * what was written, and the event that says so. Pure: the rules checker
 * (functions/rules/handlers/check-rules.ts) reads the stream, parses each new image with the
 * callbacks' own parser and hands the result here.
 *
 * Versions are counted per scope by the checker, not by whoever wrote: a console edit, an SDK
 * call and the rules tool each make one new version. The first version of a scope is 1.
 */
import { defaultScope, isRulesScope, type ParsedRules } from '../kco/rules.js';
import { EVENT_SOURCE } from '../orders/events.js';

export { EVENT_SOURCE };
export const RULES_EVENT_SCHEMA_VERSION = 1;

export const rulesEventTypes = {
  changed: 'Rules Changed',
  rejected: 'Rules Rejected',
} as const;

/** `other`: an item whose key is no scope the callbacks read (a typo such as `Default`). */
export type ScopeKind = 'default' | 'order' | 'other';
export const scopeKinds = ['default', 'order', 'other'] as const satisfies readonly ScopeKind[];

export const scopeKindOf = (scope: string): ScopeKind => (scope === defaultScope ? 'default' : isRulesScope(scope) ? 'order' : 'other');

/** At most this many issues travel in an event (the count is always given). */
export const MAX_EVENT_ISSUES = 20;
/** Paths and messages are clipped: they name fields, never carry the texts a shopper reads. */
export const MAX_ISSUE_TEXT = 200;
/** At most this many changed field names travel (a valid document has fewer; an item under another key may have any). */
export const MAX_CHANGED_FIELDS = 100;

type DetailBase = {
  schema_version: typeof RULES_EVENT_SCHEMA_VERSION;
  scope: string;
  scope_kind: ScopeKind;
  /** The scope's version after this write. */
  version: number;
  /** The version it replaced; null for a scope's first version. */
  previous_version: number | null;
  occurred_at: string;
};

export type RulesChangedDetail = DetailBase & {
  change: 'created' | 'updated' | 'deleted';
  /** Top-level fields added, removed or changed (names only, never values). */
  changed_fields: string[];
};

export type RulesRejectedDetail = DetailBase & {
  /** `invalid`: the document does not validate; `default_deleted`: the store-wide rules are gone. */
  problem: 'invalid' | 'default_deleted';
  issues: { path: string; message: string }[];
  issue_count: number;
};

export type RulesEvent =
  | { detailType: typeof rulesEventTypes.changed; detail: RulesChangedDetail }
  | { detailType: typeof rulesEventTypes.rejected; detail: RulesRejectedDetail };

/** Where a scope's numbering stands (the history's head item); undefined when nothing was recorded. */
export type ScopeHead = { latestVersion: number; present: boolean; lastSequence?: string; lastStream?: string };

/**
 * Was this stream record recorded already (a retried batch)? Only a record of the same stream can
 * tell: sequence numbers are ordered within a stream, and a table's stream that is turned off and
 * on again is a new one.
 */
export const recordedAlready = (head: ScopeHead | undefined, sequence: string, stream: string | undefined): boolean =>
  head?.lastSequence !== undefined && head.lastStream === stream && !sequenceAfter(sequence, head.lastSequence);

/**
 * The versions of one write. Without a head the scope was never recorded: a new item is version 1;
 * an item that existed before the checker (or whose creation wrote no head) was version 1.
 */
export const versionsFor = (head: ScopeHead | undefined, hadOldImage: boolean): { previous: number | null; next: number } => {
  if (head) return { previous: head.latestVersion, next: head.latestVersion + 1 };
  return hadOldImage ? { previous: 1, next: 2 } : { previous: null, next: 1 };
};

/** Stream sequence numbers are decimal strings of up to 40 digits: compared as numbers. */
export const sequenceAfter = (sequence: string, than: string | undefined): boolean => than === undefined || BigInt(sequence) > BigInt(than);

const clip = (text: string): string => (text.length > MAX_ISSUE_TEXT ? `${text.slice(0, MAX_ISSUE_TEXT - 1)}…` : text);

const isPlainObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Deep equality of JSON-like values (attribute order in an image is not meaningful). */
export const sameValue = (a: unknown, b: unknown): boolean => {
  if (Object.is(a, b)) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((item, i) => sameValue(item, b[i]));
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((key) => Object.hasOwn(b, key) && sameValue(a[key], b[key]));
  }
  if (a instanceof Uint8Array && b instanceof Uint8Array) return a.length === b.length && a.every((byte, i) => byte === b[i]);
  return false;
};

/** Top-level fields that differ between two documents, sorted. */
export const changedFields = (before: Record<string, unknown> | undefined, after: Record<string, unknown> | undefined): string[] => {
  const keys = new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})]);
  return [...keys].filter((key) => !sameValue(before?.[key], after?.[key])).sort();
};

export type RulesWrite = {
  scope: string;
  /** The documents before and after (rules fields only); undefined where the item is absent. */
  before?: Record<string, unknown>;
  after?: Record<string, unknown>;
  /** The callbacks' parse of `after` (absent when the item was deleted). */
  parsed?: ParsedRules;
  version: number;
  previousVersion: number | null;
  occurredAt: string;
};

export const DEFAULT_DELETED_MESSAGE = 'the default scope was deleted: every callback fails closed (rules_missing) until it is restored';
export const NOT_A_SCOPE_MESSAGE = 'not a scope the callbacks read ("default" or "order#<order_id>"): this item is ignored';

/** The event of one write: `Rules Rejected` when the callbacks cannot use the result, else `Rules Changed`. */
export const eventForWrite = (write: RulesWrite): RulesEvent => {
  const kind = scopeKindOf(write.scope);
  const base: DetailBase = {
    schema_version: RULES_EVENT_SCHEMA_VERSION,
    scope: clip(write.scope),
    scope_kind: kind,
    version: write.version,
    previous_version: write.previousVersion,
    occurred_at: write.occurredAt,
  };
  const rejected = (problem: RulesRejectedDetail['problem'], issues: { path: string; message: string }[]): RulesEvent => ({
    detailType: rulesEventTypes.rejected,
    detail: {
      ...base,
      problem,
      issues: issues.slice(0, MAX_EVENT_ISSUES).map((issue) => ({ path: clip(issue.path), message: clip(issue.message) })),
      issue_count: issues.length,
    },
  });
  if (write.after === undefined) {
    if (kind === 'default') return rejected('default_deleted', [{ path: '(scope)', message: DEFAULT_DELETED_MESSAGE }]);
  } else if (kind === 'other') {
    return rejected('invalid', [{ path: '(scope)', message: NOT_A_SCOPE_MESSAGE }]);
  } else if (write.parsed && !write.parsed.ok) {
    return rejected('invalid', write.parsed.issues);
  }
  return {
    detailType: rulesEventTypes.changed,
    detail: {
      ...base,
      change: write.after === undefined ? 'deleted' : write.before === undefined ? 'created' : 'updated',
      changed_fields: changedFields(write.before, write.after).slice(0, MAX_CHANGED_FIELDS).map(clip),
    },
  };
};
