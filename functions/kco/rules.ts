/**
 * The merchant's rules: the zod/mini schema of a rules document, the merge of the store-wide
 * `default` scope with the per-order `order#<id>` scope, and a parse that reports which scope and
 * which field is wrong. Pure: no AWS here (the DynamoDB adapter is functions/shared/rules-store.ts).
 * The schema is built on first use: a document the fast path accepts (fast-parse.ts) never needs it.
 */
import * as z from 'zod/mini';
import { safeParse, type FastParser } from './fast-parse.js';
import { merchantRulesDescriptor } from './schemas.generated.js';

export const reasonCodes = [
  'shipping_country_not_allowed',
  'billing_country_not_allowed',
  'postal_code_blocked',
  'po_box',
  'address_missing',
  'no_shipping_option',
  'shipping_option_not_offered',
  'no_tax_rate',
  'line_total_mismatch',
  'line_tax_mismatch',
  'order_amount_mismatch',
  'order_tax_mismatch',
  'shipping_fee_mismatch',
  'tax_mismatch',
  'currency_mismatch',
  'below_min_amount',
  'above_max_amount',
  'quantity_exceeded',
  'denied_reference',
  'customer_type_not_allowed',
  'expected_amount_mismatch',
  'too_many_lines',
  'empty_order',
  'no_shipping_option_selected',
  'parcel_locker',
  'discount_line_mismatch',
  'discount_not_allowed',
  'cart_mismatch',
  'order_unknown',
  'rules_missing',
  'rules_invalid',
  'rules_unavailable',
  'invalid_request',
  'internal_error',
] as const;
export type ReasonCode = (typeof reasonCodes)[number];

/**
 * The URL goes into a `Location` header: it must be https and come back from the WHATWG parser
 * exactly as written, so what the browser follows is what the merchant wrote. That refuses user
 * info, a backslash (`https://shop.example\@evil.example`), raw non-ASCII (an IDN must be
 * punycode), upper-case hosts, default ports, dot segments and a missing `/` path.
 */
const isUnchangedHttpsUrl = (value: string): boolean => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  return url.protocol === 'https:' && url.username === '' && url.password === '' && url.search === '' && url.hash === '' && url.href === value;
};

// The schema's definition is data, built once per process on first need. Its mutants used to be
// static (module scope) and skipped; built lazily, Stryker's per-test coverage would credit them
// to whichever test builds it first, and run only that one. Its messages and bounds are held by
// test/unit/rules.test.ts through zod itself. (CONTRIBUTING.md, Mutation testing.)
// Stryker disable all
const buildRulesSchemas = () => {
  const country = z.string().check(z.regex(/^[A-Z]{2}$/, 'an ISO 3166 alpha-2 code in capitals, like "SE"'));
  const basisPoints = z.int().check(z.minimum(0), z.maximum(10000));
  const minorUnits = z.int().check(z.minimum(0), z.maximum(100_000_000));
  const sku = z.string().check(z.minLength(1), z.maxLength(255));

  const shippingOptionRuleSchema = z.strictObject({
    id: z.string().check(z.minLength(1), z.maxLength(255)),
    name: z.string().check(z.minLength(1), z.maxLength(255)),
    description: z.optional(z.string().check(z.maxLength(255))),
    /** Minor units. VAT mode: tax included. Sales-tax mode: before tax. */
    price: minorUnits,
    /**
     * Basis points, used when the rules have no `tax` section. With `tax.mode: "vat"` shipping is
     * taxed at the destination's rate; with `sales_tax` it carries no rate.
     */
    tax_rate: basisPoints,
    /** Offered only to these shipping countries; everywhere when absent. */
    countries: z.optional(z.array(country)),
    /** The price becomes 0 once the goods subtotal reaches this amount. */
    free_over: z.optional(minorUnits),
    shipping_method: z.optional(
      z.enum(['PickUpStore', 'Home', 'BoxReg', 'BoxUnreg', 'PickUpPoint', 'Own', 'Postal', 'DHLPackstation', 'Digital']),
    ),
    preselected: z.optional(z.boolean()),
  });

  const vatTaxSchema = z.strictObject({
    mode: z.literal('vat'),
    /** Rate by shipping country. */
    rates: z.record(country, basisPoints),
    /** Per-SKU exceptions (reduced rates): `{ "<SKU>": { "SE": 1200 } }`. */
    reference_rates: z.optional(z.record(sku, z.record(country, basisPoints))),
  });

  const salesTaxSchema = z.strictObject({
    mode: z.literal('sales_tax'),
    /** `US-<region>` first, then `US`. */
    rates: z.record(z.string().check(z.regex(/^[A-Z]{2}(-[A-Z0-9]{1,3})?$/, 'a key like "US" or "US-CA"')), basisPoints),
    /** Whether shipping is part of the taxable base (it is in many US states). */
    tax_shipping: z.optional(z.boolean()),
  });

  const taxRulesSchema = z.discriminatedUnion('mode', [vatTaxSchema, salesTaxSchema]);

  /**
   * One line of the cart the shop agreed to. `reference`, `quantity` and `total_amount` are always
   * compared; `unit_price` and `total_discount_amount` when given (with the first three they fix
   * each other, since total = quantity × unit_price − total_discount_amount).
   */
  const expectedOrderLineSchema = z.strictObject({
    reference: sku,
    quantity: z.int().check(z.minimum(0), z.maximum(100_000_000)),
    total_amount: z.int().check(z.minimum(-100_000_000), z.maximum(100_000_000)),
    unit_price: z.optional(z.int().check(z.minimum(-100_000_000), z.maximum(100_000_000))),
    total_discount_amount: z.optional(minorUnits),
  });

  const httpsUrl = z.string().check(
    z.maxLength(2000),
    z.regex(/^https:\/\/[^\s?#]+$/, { error: 'an https URL without query or fragment', abort: true }),
    z.refine(isUnchangedHttpsUrl, {
      error: 'an https URL as the URL parser writes it: ASCII host (an IDN as punycode), a path (at least "/"), no user info, no backslash or raw non-ASCII character',
    }),
  );

  const merchantRulesSchema = z.strictObject({
    shipping_countries: z.optional(z.array(country)),
    billing_countries: z.optional(z.array(country)),
    blocked_postal_code_prefixes: z.optional(z.record(country, z.array(z.string().check(z.minLength(1), z.maxLength(20))))),
    block_po_boxes: z.optional(z.boolean()),
    /** Refuse parcel lockers and pick-up points given as the address (Packstation, Postfiliale, …). */
    block_parcel_lockers: z.optional(z.boolean()),
    shipping_options: z.optional(z.array(shippingOptionRuleSchema).check(z.maxLength(100))),
    tax: z.optional(taxRulesSchema),
    /** When set, orders in another currency are refused. */
    purchase_currency: z.optional(z.string().check(z.regex(/^[A-Z]{3}$/, 'an ISO 4217 code in capitals, like "SEK"'))),
    min_order_amount: z.optional(minorUnits),
    max_order_amount: z.optional(minorUnits),
    max_quantity_per_line: z.optional(z.int().check(z.minimum(1))),
    denied_references: z.optional(z.array(sku)),
    allowed_customer_types: z.optional(z.array(z.enum(['person', 'organization']))),
    /**
     * Per order: the shop's own cart total, compared exactly with `order_amount` less Klarna's
     * discount lines (the total before Klarna's discount service).
     */
    expected_order_amount: z.optional(minorUnits),
    /**
     * Per order: the shop's cart, line by line. Validation approves only when the order's own lines
     * (all but the shipping_fee and sales_tax lines these rules compute) equal it as a multiset.
     */
    expected_order_lines: z.optional(z.array(expectedOrderLineSchema).check(z.maxLength(1000))),
    /** Store-wide: an order without its own `order#<id>` scope is denied (`order_unknown`). */
    require_order_scope: z.optional(z.boolean()),
    /** Store-wide: `false` denies orders that carry discount lines from Klarna's discount service. */
    klarna_discounts: z.optional(z.boolean()),
    deny_redirect_url: z.optional(httpsUrl),
    error_texts: z.optional(z.partialRecord(z.enum(reasonCodes), z.string().check(z.minLength(1), z.maxLength(500)))),
  });
  return { merchantRules: merchantRulesSchema, shippingOptionRule: shippingOptionRuleSchema, taxRules: taxRulesSchema, expectedOrderLine: expectedOrderLineSchema };
};
// Stryker restore all

type RulesSchemas = ReturnType<typeof buildRulesSchemas>;
let rulesSchemasBuilt: RulesSchemas | undefined;
/** The zod schemas, built on the first call. */
export const rulesSchemas = (): RulesSchemas => (rulesSchemasBuilt ??= buildRulesSchemas());

export type MerchantRules = z.infer<RulesSchemas['merchantRules']>;
export type ShippingOptionRule = z.infer<RulesSchemas['shippingOptionRule']>;
export type TaxRules = z.infer<RulesSchemas['taxRules']>;
export type ExpectedOrderLine = z.infer<RulesSchemas['expectedOrderLine']>;

/** The refinements the rules schema calls, by the name schemas.generated.ts gives them. */
export const rulesRefinements = { unchanged_https_url: isUnchangedHttpsUrl } as const;

/** A rules document, with the fast path. */
export const merchantRulesParser: FastParser<MerchantRules> = {
  descriptor: merchantRulesDescriptor,
  schema: () => rulesSchemas().merchantRules,
  refinements: rulesRefinements,
};

export type RulesIssue = { scope: string; path: string; message: string };

/**
 * What a rules lookup answers: the merged rules and which scopes were found, or why there are
 * none. Defined here, beside the rules, so the pure order check can read it as the store writes it.
 */
export type RulesLookup =
  | { status: 'ok'; rules: MerchantRules; scopesFound: string[] }
  | { status: 'invalid'; issues: RulesIssue[] }
  /** No `default` scope: the merchant has said nothing, so nothing may be approved. */
  | { status: 'missing' }
  | { status: 'unavailable' };

export type ParsedRules = { ok: true; rules: MerchantRules } | { ok: false; issues: RulesIssue[] };

const formatPath = (path: readonly PropertyKey[]): string =>
  path.reduce<string>((out, key) => (typeof key === 'number' ? `${out}[${key}]` : out ? `${out}.${String(key)}` : String(key)), '');

/** Validate one scope's document; issues name the scope and the field path. */
export const parseRulesDocument = (scope: string, document: unknown): ParsedRules => {
  const result = safeParse(merchantRulesParser, document);
  if (result.success) return { ok: true, rules: result.data };
  return {
    ok: false,
    issues: result.error.issues.map((issue) => ({
      scope,
      path: formatPath(issue.path) || '(document)',
      message: issue.message === 'Invalid input' ? describeCode(issue) : issue.message,
    })),
  };
};

// zod/mini ships no message locale (it would cost cold start); say what was expected ourselves.
const describeCode = (issue: z.core.$ZodIssue): string => {
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${issue.expected}`;
    case 'unrecognized_keys':
      return `unknown field(s): ${issue.keys.join(', ')}`;
    case 'too_small':
      return `must be at least ${String(issue.minimum)}`;
    case 'too_big':
      return `must be at most ${String(issue.maximum)}`;
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_union':
      return 'does not match any allowed form';
    case 'invalid_format':
      return `invalid format (${issue.format})`;
    default:
      return issue.code;
  }
};

export const defaultScope = 'default';
export const orderScope = (orderId: string): string => `order#${orderId}`;

/** `default` or `order#<order_id>`: the only scopes a lookup ever reads. */
export const isRulesScope = (scope: string): boolean => scope === defaultScope || /^order#.{1,255}$/.test(scope);

/**
 * A store that requires an order scope refuses an order without one: the shop never announced it,
 * so no cart, amount or currency was agreed. Undefined when the order may go on.
 */
export const orderScopeRefusal = (rules: MerchantRules, orderScopeFound: boolean): ReasonCode | undefined =>
  rules.require_order_scope === true && !orderScopeFound ? 'order_unknown' : undefined;

/** Field by field, the order's scope wins; an absent field falls back to the store default. */
export const mergeRules = (store: MerchantRules | undefined, order: MerchantRules | undefined): MerchantRules => {
  const merged: Record<string, unknown> = { ...store };
  for (const [key, value] of Object.entries(order ?? {})) {
    if (value !== undefined) merged[key] = value;
  }
  return merged as MerchantRules;
};

/** The JSON Schema of a rules document, for editors and the rules tool's `schema` command. */
export const rulesJsonSchema = (): unknown => z.toJSONSchema(rulesSchemas().merchantRules, { unrepresentable: 'any' });
