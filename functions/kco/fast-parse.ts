/**
 * zod/mini's `safeParse` with a fast path for valid plain data, and without zod on a cold start.
 *
 * zod/mini checks every value through its generic machinery (a payload object, a check loop and an
 * issue array per field): for a 1000-line order that costs more than `JSON.parse` of the body. And
 * building our schemas costs a cold start ~15 ms before any request is read. So each schema is
 * described once, at build time, as plain data (`describeSchema`, written to
 * schemas.generated.ts by `npm run generate`); at run time the description is compiled into plain
 * predicates that accept only values zod accepts and build the very value zod would return (same
 * keys, same order). Anything they do not accept goes to zod itself, built only then: every error
 * still comes from zod, and the zod schemas in order.ts and rules.ts stay the one source of truth.
 * A schema using a construct not described here has no fast path: zod parses everything.
 */
import type * as z from 'zod/mini';

const REJECT = Symbol('reject');
/** The parsed value, or REJECT: "ask zod". */
type Accept = (value: unknown) => unknown;

/** A check of zod's, as data: bounds (zod's own comparisons), lengths, a pattern, a named refinement. */
export type CheckDescriptor =
  | { readonly check: 'greater_than' | 'less_than'; readonly value: number; readonly inclusive: boolean }
  | { readonly check: 'min_length' | 'max_length'; readonly value: number }
  | { readonly check: 'regex'; readonly source: string; readonly flags: string }
  | { readonly check: 'refine'; readonly name: string };

export type FieldDescriptor = { readonly key: string; readonly optional: boolean; readonly schema: SchemaDescriptor };

/** What the fast path knows of a schema. Every other construct is zod's alone. */
export type SchemaDescriptor =
  /** z.object strips unknown keys, z.looseObject keeps them, z.strictObject refuses them. */
  | { readonly type: 'object'; readonly unknownKeys: 'strip' | 'keep' | 'refuse'; readonly fields: readonly FieldDescriptor[] }
  | { readonly type: 'array'; readonly element: SchemaDescriptor; readonly checks: readonly CheckDescriptor[] }
  | { readonly type: 'string'; readonly checks: readonly CheckDescriptor[] }
  /** z.int(): zod's safeint format, an integer within ±2^53−1. */
  | { readonly type: 'integer'; readonly checks: readonly CheckDescriptor[] }
  /** z.number(): any finite number. */
  | { readonly type: 'number'; readonly checks: readonly CheckDescriptor[] }
  /** z.enum and z.literal. */
  | { readonly type: 'enum'; readonly values: readonly (string | number)[] }
  | { readonly type: 'boolean' }
  /** z.record with a key schema that is not an exhaustive enum, and z.partialRecord. */
  | { readonly type: 'record'; readonly key: SchemaDescriptor; readonly value: SchemaDescriptor }
  | { readonly type: 'discriminated_union'; readonly discriminator: string; readonly options: readonly SchemaDescriptor[] };

/** Refinements (`z.refine`) a description may name: the same functions the zod schema calls. */
export type Refinements = Readonly<Record<string, (value: never) => boolean>>;

/** A schema two ways: its description (generated) for the fast path, zod's schema for the rest. */
export type FastParser<T> = {
  /** From schemas.generated.ts; null when the schema has no fast path. */
  readonly descriptor: SchemaDescriptor | null;
  /** zod's schema, built on the first call: only a value the fast path does not accept needs it. */
  readonly schema: () => z.ZodMiniType<T>;
  readonly refinements?: Refinements;
};

// ---- Describing a zod schema (build time: bin/schemas.ts, and the tests) ----------------------

type ZodDef = {
  type: string;
  checks?: readonly ZodSchema[];
  check?: string;
  format?: string;
  coerce?: boolean;
  shape?: Record<string, ZodSchema>;
  catchall?: ZodSchema;
  element?: ZodSchema;
  innerType?: ZodSchema;
  keyType?: ZodSchema;
  valueType?: ZodSchema;
  partial?: boolean;
  mode?: string;
  options?: readonly ZodSchema[];
  discriminator?: string;
  unionFallback?: boolean;
  // A check's own definition.
  value?: unknown;
  inclusive?: boolean;
  maximum?: unknown;
  minimum?: unknown;
  pattern?: unknown;
  fn?: unknown;
};
type ZodSchema = { _zod: { def: ZodDef; optin?: string; values?: ReadonlySet<unknown> } };

const describeChecks = (checks: ZodDef['checks'], refinements: Refinements): CheckDescriptor[] | undefined => {
  const described: CheckDescriptor[] = [];
  for (const { _zod } of checks ?? []) {
    const { check, value, inclusive, maximum, minimum, format, pattern, fn } = _zod.def;
    if ((check === 'greater_than' || check === 'less_than') && typeof value === 'number') {
      described.push({ check, value, inclusive: inclusive === true });
    } else if (check === 'max_length' && typeof maximum === 'number') {
      described.push({ check, value: maximum });
    } else if (check === 'min_length' && typeof minimum === 'number') {
      described.push({ check, value: minimum });
    } else if (check === 'string_format' && format === 'regex' && pattern instanceof RegExp) {
      described.push({ check: 'regex', source: pattern.source, flags: pattern.flags });
    } else if (check === 'custom') {
      const name = Object.keys(refinements).find((key) => refinements[key] === fn);
      if (name === undefined) return undefined;
      described.push({ check: 'refine', name });
    } else {
      return undefined;
    }
  }
  return described;
};

const describeObject = (def: ZodDef, refinements: Refinements): SchemaDescriptor | undefined => {
  const shape = def.shape;
  if (!shape || Object.getOwnPropertySymbols(shape).length > 0 || (def.checks?.length ?? 0) > 0) return undefined;
  const catchall = def.catchall?._zod.def;
  if (catchall !== undefined && (catchall.checks?.length ?? 0) > 0) return undefined;
  // Typed catchalls are zod's business.
  const unknownKeys = catchall === undefined ? 'strip' : catchall.type === 'unknown' ? 'keep' : catchall.type === 'never' ? 'refuse' : undefined;
  if (unknownKeys === undefined) return undefined;
  const fields: FieldDescriptor[] = [];
  for (const [key, schema] of Object.entries(shape)) {
    if (key === '__proto__') return undefined;
    const optional = schema._zod.def.type === 'optional';
    // Checks on the optional wrapper itself would be skipped: zod's business.
    if (optional && (schema._zod.def.checks?.length ?? 0) > 0) return undefined;
    const inner = optional ? schema._zod.def.innerType : schema;
    // A defaulted inner schema invents a value for an absent key: zod's business.
    if (!inner || (optional && inner._zod.optin === 'defaulted')) return undefined;
    const described = describe(inner, refinements);
    if (!described) return undefined;
    fields.push({ key, optional, schema: described });
  }
  return { type: 'object', unknownKeys, fields };
};

const enumValues = (schema: ZodSchema): (string | number)[] | undefined => {
  const values = [...(schema._zod.values ?? [])];
  return values.length > 0 && values.every((v) => typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v)))
    ? (values as (string | number)[])
    : undefined;
};

const describe = (schema: ZodSchema, refinements: Refinements): SchemaDescriptor | undefined => {
  const def = schema._zod.def;
  if (def.coerce) return undefined;
  switch (def.type) {
    case 'object':
      return describeObject(def, refinements);
    case 'array': {
      const element = def.element && describe(def.element, refinements);
      const checks = describeChecks(def.checks, refinements);
      return element && checks ? { type: 'array', element, checks } : undefined;
    }
    case 'string': {
      // A string format (email, uuid…) is a check of the type itself: zod's business.
      const checks = describeChecks(def.checks, refinements);
      return checks && def.check === undefined && def.format === undefined ? { type: 'string', checks } : undefined;
    }
    case 'number': {
      const checks = describeChecks(def.checks, refinements);
      if (!checks) return undefined;
      if (def.check === 'number_format' && def.format === 'safeint') return { type: 'integer', checks };
      return def.check === undefined && def.format === undefined ? { type: 'number', checks } : undefined;
    }
    case 'enum':
    case 'literal': {
      const values = enumValues(schema);
      return values && (def.checks?.length ?? 0) === 0 ? { type: 'enum', values } : undefined;
    }
    case 'boolean':
      return (def.checks?.length ?? 0) === 0 ? { type: 'boolean' } : undefined;
    case 'record': {
      // An enum key without `partial` makes every key required (zod's exhaustive record).
      if (!def.keyType || !def.valueType || def.mode !== undefined || (def.keyType._zod.values && !def.partial) || (def.checks?.length ?? 0) > 0) return undefined;
      const key = describe(def.keyType, refinements);
      const value = describe(def.valueType, refinements);
      return key && (key.type === 'string' || key.type === 'enum') && value ? { type: 'record', key, value } : undefined;
    }
    case 'union': {
      if (typeof def.discriminator !== 'string' || def.unionFallback || !def.options || (def.checks?.length ?? 0) > 0) return undefined;
      const options: SchemaDescriptor[] = [];
      for (const option of def.options) {
        const described = describe(option, refinements);
        // Each option an object whose discriminator is a required enum or literal.
        const field = described?.type === 'object' ? described.fields.find((f) => f.key === def.discriminator) : undefined;
        if (!described || !field || field.optional || field.schema.type !== 'enum') return undefined;
        options.push(described);
      }
      return { type: 'discriminated_union', discriminator: def.discriminator, options };
    }
    default:
      return undefined;
  }
};

/** The description of a zod schema for the fast path, or undefined when it uses a construct not known here. */
export const describeSchema = (schema: z.ZodMiniType, refinements: Refinements = {}): SchemaDescriptor | undefined =>
  describe(schema as unknown as ZodSchema, refinements);

// ---- Compiling a description (run time) -------------------------------------------------------

type Predicate<T> = (value: T) => boolean;

/** The checks as one predicate, each with zod's own comparison; undefined for an unknown refinement. */
const compileChecks = (checks: readonly CheckDescriptor[], refinements: Refinements): Predicate<never> | undefined => {
  const predicates: Predicate<never>[] = [];
  for (const described of checks) {
    switch (described.check) {
      case 'greater_than': {
        const { value } = described;
        predicates.push(described.inclusive ? (v: number) => v >= value : (v: number) => v > value);
        break;
      }
      case 'less_than': {
        const { value } = described;
        predicates.push(described.inclusive ? (v: number) => v <= value : (v: number) => v < value);
        break;
      }
      case 'max_length': {
        const { value } = described;
        predicates.push((v: { length: number }) => v.length <= value);
        break;
      }
      case 'min_length': {
        const { value } = described;
        predicates.push((v: { length: number }) => v.length >= value);
        break;
      }
      case 'regex': {
        const pattern = new RegExp(described.source, described.flags);
        predicates.push((v: string) => {
          pattern.lastIndex = 0;
          return pattern.test(v);
        });
        break;
      }
      case 'refine': {
        const refinement = Object.hasOwn(refinements, described.name) ? refinements[described.name] : undefined;
        if (refinement === undefined) return undefined;
        predicates.push(refinement);
        break;
      }
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

const isRecordObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

const compileObject = (described: Extract<SchemaDescriptor, { type: 'object' }>, refinements: Refinements): Accept | undefined => {
  const fields: { key: string; optional: boolean; accept: Accept }[] = [];
  for (const field of described.fields) {
    const accept = compile(field.schema, refinements);
    if (!accept) return undefined;
    fields.push({ key: field.key, optional: field.optional, accept });
  }
  const known = new Set(fields.map((f) => f.key));
  const { unknownKeys } = described;
  return (value) => {
    if (!isRecordObject(value)) return REJECT;
    // Refused unknown keys are zod's business (its issue names them).
    if (unknownKeys === 'refuse') {
      for (const key in value) if (!known.has(key)) return REJECT;
    }
    const out: Record<string, unknown> = {};
    // As zod does: the shape's keys in the shape's order, then (loose) the others in input order.
    for (const field of fields) {
      const given = value[field.key];
      if (given === undefined) {
        // Absent and optional: left out, as zod does. Present but undefined: zod's business.
        if (field.optional && !(field.key in value)) continue;
        return REJECT;
      }
      const parsed = field.accept(given);
      if (parsed === REJECT) return REJECT;
      out[field.key] = parsed;
    }
    if (unknownKeys === 'keep') {
      for (const key in value) if (!known.has(key) && key !== '__proto__') out[key] = value[key];
    }
    return out;
  };
};

/** The fast path for one description, or undefined when it names a refinement not given. */
const compile = (described: SchemaDescriptor, refinements: Refinements): Accept | undefined => {
  switch (described.type) {
    case 'object':
      return compileObject(described, refinements);
    case 'array': {
      const element = compile(described.element, refinements);
      const checks = compileChecks(described.checks, refinements) as Predicate<unknown[]> | undefined;
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
      const checks = compileChecks(described.checks, refinements) as Predicate<string> | undefined;
      return checks && ((value) => (typeof value === 'string' && checks(value) ? value : REJECT));
    }
    case 'integer': {
      const checks = compileChecks(described.checks, refinements) as Predicate<number> | undefined;
      return checks && ((value) => (typeof value === 'number' && Number.isSafeInteger(value) && checks(value) ? value : REJECT));
    }
    case 'number': {
      const checks = compileChecks(described.checks, refinements) as Predicate<number> | undefined;
      return checks && ((value) => (typeof value === 'number' && Number.isFinite(value) && checks(value) ? value : REJECT));
    }
    case 'enum': {
      const values: ReadonlySet<unknown> = new Set(described.values);
      return (value) => (values.has(value) ? value : REJECT);
    }
    case 'boolean':
      return (value) => (typeof value === 'boolean' ? value : REJECT);
    case 'record': {
      const key = compile(described.key, refinements);
      const element = compile(described.value, refinements);
      if (!key || !element) return undefined;
      return (value) => {
        // Only a plain JSON-like object; anything else (and an own `__proto__` key) is zod's.
        if (!isRecordObject(value) || Object.getPrototypeOf(value) !== Object.prototype || Object.getOwnPropertySymbols(value).length > 0) return REJECT;
        const out: Record<string, unknown> = {};
        for (const name of Object.keys(value)) {
          if (name === '__proto__' || key(name) === REJECT) return REJECT;
          const parsed = element(value[name]);
          if (parsed === REJECT) return REJECT;
          out[name] = parsed;
        }
        return out;
      };
    }
    case 'discriminated_union': {
      const byValue = new Map<unknown, Accept>();
      for (const option of described.options) {
        const accept = compile(option, refinements);
        const field = option.type === 'object' ? option.fields.find((f) => f.key === described.discriminator) : undefined;
        if (!accept || field?.schema.type !== 'enum') return undefined;
        for (const v of field.schema.values) if (!byValue.has(v)) byValue.set(v, accept);
      }
      const { discriminator } = described;
      return (value) => {
        if (!isRecordObject(value) || !Object.hasOwn(value, discriminator)) return REJECT;
        const option = byValue.get(value[discriminator]);
        return option ? option(value) : REJECT;
      };
    }
  }
};

const compiled = new WeakMap<FastParser<unknown>, Accept | null>();

const acceptFor = (parser: FastParser<unknown>): Accept | null => {
  let accept = compiled.get(parser);
  if (accept === undefined) {
    accept = (parser.descriptor && compile(parser.descriptor, parser.refinements ?? {})) ?? null;
    compiled.set(parser, accept);
  }
  return accept;
};

/** Whether `parser` has a fast path (for tests: a parser that silently lost it would only be slower). */
export const hasFastPath = (parser: FastParser<unknown>): boolean => acceptFor(parser) !== null;

/** Exactly `parser.schema().safeParse(value)`; valid plain data takes the fast path, without zod. */
export const safeParse = <T>(parser: FastParser<T>, value: unknown): ReturnType<z.ZodMiniType<T>['safeParse']> => {
  const accept = acceptFor(parser as FastParser<unknown>);
  if (accept) {
    const parsed = accept(value);
    if (parsed !== REJECT) return { success: true, data: parsed as T } as ReturnType<z.ZodMiniType<T>['safeParse']>;
  }
  return parser.schema().safeParse(value);
};
