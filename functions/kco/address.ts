/**
 * Address rules: allowed countries, blocked postal code prefixes and post-office boxes. Pure.
 */
import type { Address } from './order.js';
import type { MerchantRules, ReasonCode } from './rules.js';

// Common spellings of a post-office box across Klarna's markets; "Box 123" only as a whole field,
// because "Box" alone is a legitimate street-name word ("Box Hill Road").
const PO_BOX_PATTERNS: readonly RegExp[] = [
  /\bp[\s.-]*o[\s.-]*b(?:ox|\.)?[\s-]*\d/i, // PO Box 12, P.O. Box 12, PO-Box 12, P O Box, POB 12, P.O.B. 12
  /\bp[\s.-]*o[\s.-]*box\b/i, // PO Box, P.O. Box, PO-Box (without number)
  /\bpost\s*office\s*box\b/i,
  /\bpost\s*box\b/i, // Post Box, Postbox
  /\bpostfach\b/i, // DE, AT, CH
  /\bpostbus\b/i, // NL
  /\bbo[iî]te\s+postale\b/i, // FR, BE
  /\bpostboks\b/i, // NO, DK
  /\bpostilokero\b/i, // FI
  /\bapartado\s+(?:de\s+correos|postal)\b/i, // ES
  /\bcasella\s+postale\b/i, // IT
  /\bskrytka\s+pocztowa\b/i, // PL
];
const WHOLE_FIELD_BOX = /^\s*(?:box|pob|bp|b\.p\.)\s*\.?\s*#?\s*\d+\s*$/i;

export const isPoBox = (address: Address): boolean => {
  for (const field of [address.street_address, address.street_address2, address.street_name]) {
    if (!field) continue;
    if (WHOLE_FIELD_BOX.test(field)) return true;
    for (const pattern of PO_BOX_PATTERNS) if (pattern.test(field)) return true;
  }
  return false;
};

const normalisePostalCode = (code: string): string => code.replace(/[\s-]/g, '').toUpperCase();

export const countryOf = (address: Address | undefined): string | undefined => address?.country?.toUpperCase();

/** The shipping address against the rules: country, postal prefix, PO box (in that order). */
export const checkShippingAddress = (address: Address | undefined, rules: MerchantRules): ReasonCode | undefined => {
  const country = countryOf(address);
  if (!address || !country) return 'address_missing';
  if (rules.shipping_countries && !rules.shipping_countries.includes(country)) return 'shipping_country_not_allowed';
  const prefixes = rules.blocked_postal_code_prefixes?.[country];
  if (prefixes && address.postal_code) {
    const postal = normalisePostalCode(address.postal_code);
    if (prefixes.some((prefix) => postal.startsWith(normalisePostalCode(prefix)))) return 'postal_code_blocked';
  }
  if (rules.block_po_boxes && isPoBox(address)) return 'po_box';
  return undefined;
};

export const checkBillingCountry = (address: Address | undefined, rules: MerchantRules): ReasonCode | undefined => {
  const country = countryOf(address);
  if (!country) return 'address_missing';
  if (rules.billing_countries && !rules.billing_countries.includes(country)) return 'billing_country_not_allowed';
  return undefined;
};
