/**
 * Address rules: allowed countries, blocked postal code prefixes, post-office boxes and parcel
 * lockers. Pure. Every field is normalised first (functions/kco/shopper-text.ts), then read as a
 * list of words: keywords are matched on words, never with a backtracking pattern, so the cost
 * is linear in the length of the address whatever it holds.
 */
import type { Address } from './order.js';
import type { MerchantRules, ReasonCode } from './rules.js';
import { lettersAndDigits, normaliseShopperText, skeleton, withoutMarks, wordsOf } from './shopper-text.js';

/**
 * A keyword, written as its words run together: "pobox" matches "PO Box", "P.O. Box", "P/O Box",
 * "P0 B0x" and "POBox12". `number`: only followed by a number ("Pf. 12", not "Pf"). `first`: only
 * as the field's first word ("Box 123, Stockholm", not "Box Hill Road").
 */
type Keyword = { readonly words: string; readonly number?: true; readonly first?: true };

/** Post-office boxes and mail held at a post office, in the spellings of Klarna's markets. */
const PO_BOX_KEYWORDS: readonly Keyword[] = [
  { words: 'pobox' }, // PO Box, P.O. Box, P/O Box, PO-Box, POBox
  { words: 'pob', number: true }, // POB 12, P.O.B. 12
  { words: 'postofficebox' },
  { words: 'postbox' },
  { words: 'gpobox' }, // AU, NZ
  { words: 'lockedbag' }, // AU, NZ
  { words: 'privatebag' }, // AU, NZ
  { words: 'pmb', number: true }, // US private mailbox
  { words: 'generaldelivery' }, // US
  { words: 'posterestante' },
  { words: 'box', number: true, first: true }, // SE "Box 123"
  { words: 'postfach' }, // DE, AT, CH
  { words: 'postf', number: true }, // DE "Postf. 12"
  { words: 'pf', number: true }, // DE "Pf. 12"
  { words: 'postbus' }, // NL
  { words: 'boitepostale' }, // FR, BE (accents are ignored: "Boîte postale")
  { words: 'bp', number: true }, // FR "BP 12"
  { words: 'postboks' }, // NO, DK
  { words: 'postilokero' }, // FI
  { words: 'apartadodecorreos' }, // ES
  { words: 'apartadopostal' }, // ES
  { words: 'apdo', number: true }, // ES "Apdo. 12"
  { words: 'casellapostale' }, // IT
  { words: 'skrytkapocztowa' }, // PL
];

/** Parcel lockers and pick-up points: a place to collect from, not to deliver to. */
const PARCEL_LOCKER_KEYWORDS: readonly Keyword[] = [
  { words: 'packstation' }, // DE (DHL)
  { words: 'postfiliale' }, // DE
  { words: 'paketshop' }, // DE
  { words: 'paketautomat' },
  { words: 'parcellocker' },
  { words: 'parcelshop' },
  { words: 'pickuppoint' },
  { words: 'pickupstation' },
  { words: 'amazonlocker' },
  { words: 'paczkomat' }, // PL (InPost)
  { words: 'pakettiautomaatti' }, // FI
  { words: 'pakkeautomat' }, // DK, NO
  { words: 'pakkeboks' }, // NO
  { words: 'pakketautomaat' }, // NL
];

type Matcher = { keywords: readonly { skeleton: string; keyword: Keyword }[]; prefixes: ReadonlySet<string> };

const matcher = (keywords: readonly Keyword[]): Matcher => {
  const compiled = keywords.map((keyword) => ({ skeleton: skeleton(withoutMarks(keyword.words)), keyword }));
  const prefixes = new Set<string>();
  for (const { skeleton: s } of compiled) for (let i = 1; i <= s.length; i++) prefixes.add(s.slice(0, i));
  return { keywords: compiled, prefixes };
};

const PO_BOXES = matcher(PO_BOX_KEYWORDS);
const PARCEL_LOCKERS = matcher(PARCEL_LOCKER_KEYWORDS);

const DIGITS = /^\d+$/;
const STARTS_WITH_DIGIT = /^\d/;
const NUMBER_WORDS: ReadonlySet<string> = new Set(['no', 'nr', 'n', 'num', 'number', 'nummer', 'numero']);

/** A number follows word `next`: "12", "12a", or "No. 12". */
const numberAt = (words: readonly string[], next: number): boolean => {
  const word = words[next];
  if (word === undefined) return false;
  if (STARTS_WITH_DIGIT.test(word)) return true;
  return NUMBER_WORDS.has(word) && STARTS_WITH_DIGIT.test(words[next + 1] ?? '');
};

/**
 * Whether a keyword stands in the words: for each start, words are joined while the join is
 * still the beginning of some keyword (at most a keyword's length), so each word is looked at a
 * bounded number of times.
 */
const mentions = (words: readonly string[], m: Matcher): boolean => {
  const folded = words.map(withoutMarks);
  const skeletons = folded.map(skeleton);
  for (let start = 0; start < words.length; start++) {
    let joined = '';
    let written = '';
    for (let end = start; end < words.length; end++) {
      joined += skeletons[end]!;
      written += folded[end]!;
      for (const { skeleton: s, keyword } of m.keywords) {
        if (!joined.startsWith(s) || (keyword.first && start !== 0)) continue;
        // "POBox12": a number written onto the keyword's last word.
        const glued = written.slice(s.length);
        if (glued === '' ? !keyword.number || numberAt(words, end + 1) : DIGITS.test(glued)) return true;
      }
      if (!m.prefixes.has(joined)) break;
    }
  }
  return false;
};

/** Every free-text field of an address (not names, e-mail or phone), normalised into words. */
const addressWords = (address: Address): string[][] => {
  const fields = [
    address.street_address,
    address.street_address2,
    address.street_name,
    address.street_number,
    address.house_extension,
    address.care_of,
    address.city,
    address.region,
  ];
  const out: string[][] = [];
  for (const field of fields) if (field) out.push(wordsOf(normaliseShopperText(field)));
  return out;
};

export const isPoBox = (address: Address): boolean => addressWords(address).some((words) => mentions(words, PO_BOXES));

export const isParcelLocker = (address: Address): boolean => addressWords(address).some((words) => mentions(words, PARCEL_LOCKERS));

/**
 * Old international (vehicle) codes written before postal codes ("S-981 23", "D-10115"), beside
 * the ISO code itself ("SE-981 23").
 */
const OLD_POSTAL_PREFIXES: Readonly<Record<string, readonly string[]>> = {
  SE: ['S'],
  DE: ['D'],
  AT: ['A'],
  FR: ['F'],
  IT: ['I'],
  BE: ['B'],
  LU: ['L'],
  NO: ['N'],
  FI: ['FIN', 'SF'],
  ES: ['E'],
  PT: ['P'],
  HU: ['H'],
  IE: ['IRL'],
  GB: ['UK'],
};

/**
 * A postal code as compared: normalised, a leading country prefix removed when a separator or a
 * digit follows it, then letters and digits only, upper case.
 */
export const normalisePostalCode = (code: string, country: string): string => {
  const text = normaliseShopperText(code).toUpperCase();
  for (const prefix of [country, ...(OLD_POSTAL_PREFIXES[country] ?? [])]) {
    if (!text.startsWith(prefix)) continue;
    const rest = text.slice(prefix.length);
    const next = rest.charAt(0);
    if (next === '-' || next === ' ' || next === '.' || (next >= '0' && next <= '9')) {
      return lettersAndDigits(rest);
    }
  }
  return lettersAndDigits(text);
};

export const countryOf = (address: Address | undefined): string | undefined => {
  const country = address?.country;
  return country === undefined ? undefined : normaliseShopperText(country).toUpperCase();
};

/** The shipping address against the rules: country, postal prefix, PO box, parcel locker. */
export const checkShippingAddress = (address: Address | undefined, rules: MerchantRules): ReasonCode | undefined => {
  const country = countryOf(address);
  if (!address || !country) return 'address_missing';
  if (rules.shipping_countries && !rules.shipping_countries.includes(country)) return 'shipping_country_not_allowed';
  const prefixes = rules.blocked_postal_code_prefixes?.[country];
  if (prefixes && address.postal_code) {
    const postal = normalisePostalCode(address.postal_code, country);
    if (prefixes.some((prefix) => postal.startsWith(normalisePostalCode(prefix, country)))) return 'postal_code_blocked';
  }
  if (rules.block_po_boxes && isPoBox(address)) return 'po_box';
  if (rules.block_parcel_lockers && isParcelLocker(address)) return 'parcel_locker';
  return undefined;
};

export const checkBillingCountry = (address: Address | undefined, rules: MerchantRules): ReasonCode | undefined => {
  const country = countryOf(address);
  if (!country) return 'address_missing';
  if (rules.billing_countries && !rules.billing_countries.includes(country)) return 'billing_country_not_allowed';
  return undefined;
};
