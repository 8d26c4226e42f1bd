/**
 * What changed between two rules documents, field path by field path (`shipping_options[0].price`),
 * for the rules tool's `diff` and the playground's history. Pure.
 */
import { sameValue } from './change.js';

export type DocumentChange =
  | { path: string; kind: 'added'; after: unknown }
  | { path: string; kind: 'removed'; before: unknown }
  | { path: string; kind: 'changed'; before: unknown; after: unknown };

const isPlainObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);

const join = (path: string, key: string | number): string => (typeof key === 'number' ? `${path}[${key}]` : path ? `${path}.${key}` : key);

/**
 * Changes from `before` to `after`, in the order of the documents' fields. Objects are compared
 * key by key; arrays of the same length index by index; anything else (or arrays whose length
 * changed) as one value.
 */
export const diffDocuments = (before: unknown, after: unknown, path = ''): DocumentChange[] => {
  if (sameValue(before, after)) return [];
  if (isPlainObject(before) && isPlainObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
    return keys.flatMap((key) => {
      const inner = join(path, key);
      if (!Object.hasOwn(after, key)) return [{ path: inner, kind: 'removed' as const, before: before[key] }];
      if (!Object.hasOwn(before, key)) return [{ path: inner, kind: 'added' as const, after: after[key] }];
      return diffDocuments(before[key], after[key], inner);
    });
  }
  if (Array.isArray(before) && Array.isArray(after) && before.length === after.length) {
    return before.flatMap((item, i) => diffDocuments(item, after[i], join(path, i)));
  }
  return [{ path: path || '(document)', kind: 'changed', before, after }];
};

// A number beyond JavaScript's safe range comes out of DynamoDB as a BigInt (a console edit can
// store one): shown with its digits, where JSON.stringify would throw.
const bigIntAsDigits = (_key: string, value: unknown): unknown => (typeof value === 'bigint' ? `${value.toString()}n` : value);

const show = (value: unknown, max: number): string => {
  const text = (value instanceof Set ? JSON.stringify([...value], bigIntAsDigits) : JSON.stringify(value, bigIntAsDigits)) ?? String(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
};

/** One line per change: `+ path: value`, `- path: value`, `~ path: before → after`. */
export const formatChanges = (changes: readonly DocumentChange[], maxValue = 120): string[] =>
  changes.map((change) =>
    change.kind === 'added'
      ? `+ ${change.path}: ${show(change.after, maxValue)}`
      : change.kind === 'removed'
        ? `- ${change.path}: ${show(change.before, maxValue)}`
        : `~ ${change.path}: ${show(change.before, maxValue)} → ${show(change.after, maxValue)}`,
  );
