/**
 * zod/mini's `safeParse` with a fast path for valid plain data. zod/mini checks every value
 * through its generic machinery (a payload object, a check loop and an issue array per field):
 * for a 1000-line order that costs more than `JSON.parse` of the body. Here a schema is compiled
 * once, from its own zod definition, into plain predicates that accept only values zod accepts and
 * build the very value zod would return (same keys, same order). Anything they do not accept, and
 * any schema using a construct they do not know, goes to zod itself: every error still comes
 * from zod, and the schemas in order.ts stay the one source of truth.
 */
import type * as z from 'zod/mini';

const REJECT = Symbol('reject');
/** The parsed value, or REJECT: "ask zod". */
type Accept = (value: unknown) => unknown;

type CheckDef = {
  check?: string;
  value?: unknown;
  inclusive?: boolean;
  maximum?: unknown;
  minimum?: unknown;
  format?: string;
  pattern?: unknown;
};
type SchemaDef = {
  type: string;
  checks?: readonly { _zod: { def: CheckDef } }[];
  check?: string;
  format?: string;
  coerce?: boolean;
  shape?: Record<string, Schema>;
  catchall?: Schema;
  element?: Schema;
  innerType?: Schema;
};
type Schema = { _zod: { def: SchemaDef; optin?: string; values?: ReadonlySet<unknown> } };

type Predicate<T> = (value: T) => boolean;

/** zod's checks as one predicate (each with zod's own comparison), or undefined if one is unknown. */
const compileChecks = (checks: SchemaDef['checks']): Predicate<never> | undefined => {
  const predicates: Predicate<never>[] = [];
  for (const { _zod } of checks ?? []) {
    const { check, value, inclusive, maximum, minimum, format, pattern } = _zod.def;
    if ((check === 'greater_than' || check === 'less_than') && typeof value === 'number') {
      if (check === 'greater_than') predicates.push(inclusive ? (v: number) => v >= value : (v: number) => v > value);
      else predicates.push(inclusive ? (v: number) => v <= value : (v: number) => v < value);
    } else if (check === 'max_length' && typeof maximum === 'number') {
      predicates.push((v: { length: number }) => v.length <= maximum);
    } else if (check === 'min_length' && typeof minimum === 'number') {
      predicates.push((v: { length: number }) => v.length >= minimum);
    } else if (check === 'string_format' && format === 'regex' && pattern instanceof RegExp) {
      predicates.push((v: string) => {
        pattern.lastIndex = 0;
        return pattern.test(v);
      });
    } else {
      return undefined;
    }
  }
  if (predicates.length === 0) return () => true;
  if (predicates.length === 1) return predicates[0];
  if (predicates.length === 2) {
    const [a, b] = predicates as [Predicate<never>, Predicate<never>];
    return (v) => a(v) && b(v);
  }
  return (v) => predicates.every((p) => p(v));
};

const compileObject = (def: SchemaDef): Accept | undefined => {
  const shape = def.shape;
  if (!shape || Object.getOwnPropertySymbols(shape).length > 0 || (def.checks?.length ?? 0) > 0) return undefined;
  // Strip (z.object) or keep (z.looseObject) unknown keys; strictObject and typed catchalls go to zod.
  const catchallType = def.catchall?._zod.def.type;
  if (catchallType !== undefined && (catchallType !== 'unknown' || (def.catchall?._zod.def.checks?.length ?? 0) > 0)) return undefined;
  const loose = catchallType === 'unknown';
  const fields: { key: string; optional: boolean; accept: Accept }[] = [];
  for (const [key, schema] of Object.entries(shape)) {
    if (key === '__proto__') return undefined;
    const optional = schema._zod.def.type === 'optional';
    // Checks on the optional wrapper itself would be skipped below: zod's business.
    if (optional && (schema._zod.def.checks?.length ?? 0) > 0) return undefined;
    const inner = optional ? schema._zod.def.innerType : schema;
    // A defaulted inner schema invents a value for an absent key: zod's business.
    if (!inner || (optional && inner._zod.optin === 'defaulted')) return undefined;
    const accept = compile(inner);
    if (!accept) return undefined;
    fields.push({ key, optional, accept });
  }
  const known = new Set(fields.map((f) => f.key));
  return (value) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return REJECT;
    const input = value as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    // As zod does: the shape's keys in the shape's order, then (loose) the others in input order.
    for (const field of fields) {
      const given = input[field.key];
      if (given === undefined) {
        // Absent and optional: left out, as zod does. Present but undefined: zod's business.
        if (field.optional && !(field.key in input)) continue;
        return REJECT;
      }
      const parsed = field.accept(given);
      if (parsed === REJECT) return REJECT;
      out[field.key] = parsed;
    }
    if (loose) {
      for (const key in input) if (!known.has(key) && key !== '__proto__') out[key] = input[key];
    }
    return out;
  };
};

/** The fast path for one schema, or undefined when it uses anything not handled here. */
const compile = (schema: Schema): Accept | undefined => {
  const def = schema._zod.def;
  if (def.coerce) return undefined;
  switch (def.type) {
    case 'object':
      return compileObject(def);
    case 'array': {
      const element = def.element && compile(def.element);
      const checks = compileChecks(def.checks) as Predicate<unknown[]> | undefined;
      if (!element || !checks) return undefined;
      return (value) => {
        if (!Array.isArray(value) || !checks(value)) return REJECT;
        const out = new Array<unknown>(value.length);
        for (let i = 0; i < value.length; i++) {
          const parsed = element(value[i]);
          if (parsed === REJECT) return REJECT;
          out[i] = parsed;
        }
        return out;
      };
    }
    case 'string': {
      const checks = compileChecks(def.checks) as Predicate<string> | undefined;
      // A string format (email, uuid…) is a check of the type itself: zod's business.
      if (!checks || def.check !== undefined || def.format !== undefined) return undefined;
      return (value) => (typeof value === 'string' && checks(value) ? value : REJECT);
    }
    case 'number': {
      const checks = compileChecks(def.checks) as Predicate<number> | undefined;
      if (!checks) return undefined;
      // z.int(): zod's safeint format (an integer within ±2^53−1); z.number(): any finite number.
      if (def.check === 'number_format' && def.format === 'safeint') {
        return (value) => (typeof value === 'number' && Number.isSafeInteger(value) && checks(value) ? value : REJECT);
      }
      if (def.check !== undefined || def.format !== undefined) return undefined;
      return (value) => (typeof value === 'number' && Number.isFinite(value) && checks(value) ? value : REJECT);
    }
    case 'enum': {
      const values = schema._zod.values;
      if (!values || (def.checks?.length ?? 0) > 0) return undefined;
      return (value) => (values.has(value) ? value : REJECT);
    }
    default:
      return undefined;
  }
};

const compiled = new WeakMap<object, Accept | null>();

const acceptFor = (schema: z.ZodMiniType): Accept | null => {
  let accept = compiled.get(schema);
  if (accept === undefined) {
    accept = compile(schema as unknown as Schema) ?? null;
    compiled.set(schema, accept);
  }
  return accept;
};

/** Whether `schema` has a fast path (for tests: a schema that silently lost it would only be slower). */
export const hasFastPath = (schema: z.ZodMiniType): boolean => acceptFor(schema) !== null;

/** Exactly `schema.safeParse(value)`; valid plain data takes the fast path. */
export const safeParse = <T>(schema: z.ZodMiniType<T>, value: unknown): ReturnType<z.ZodMiniType<T>['safeParse']> => {
  const accept = acceptFor(schema);
  if (accept) {
    const parsed = accept(value);
    if (parsed !== REJECT) return { success: true, data: parsed as T } as ReturnType<z.ZodMiniType<T>['safeParse']>;
  }
  return schema.safeParse(value);
};
