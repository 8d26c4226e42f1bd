/**
 * Text typed by shoppers is hostile: before any rule looks at it, it is normalised so that a
 * fullwidth "ＰＯ Ｂｏｘ", a zero-width space inside "Post<ZWSP>fach" or a soft hyphen in "Pack<SHY>station"
 * reads as what it shows. Pure, and linear in the length of the text.
 */

/** Klarna's address fields are at most 1000 characters (our order schema refuses more). */
export const MAX_FIELD_LENGTH = 1000;

// Format characters (zero-width space and joiners, soft hyphen, bidi controls, BOM …) are
// invisible: removing them lets "Post<ZWSP>fach" match "Postfach".
const FORMAT_CHARACTERS = /\p{Cf}/gu;
const WHITESPACE_RUN = /\s+/gu;

/**
 * NFKC (fullwidth and compatibility forms become plain letters and digits), invisible characters
 * removed, whitespace collapsed, case folded. NFKC can lengthen a string (one character may
 * become several), so the result is capped again.
 */
export const normaliseShopperText = (text: string): string =>
  text
    .slice(0, MAX_FIELD_LENGTH)
    .normalize('NFKC')
    .replace(FORMAT_CHARACTERS, '')
    .replace(WHITESPACE_RUN, ' ')
    .trim()
    .toLowerCase()
    .slice(0, MAX_FIELD_LENGTH);

const WORD_SEPARATORS = /[^\p{L}\p{N}]+/u;

/** The words of a normalised text: runs of letters and digits; every other character separates. */
export const wordsOf = (normalised: string): string[] => normalised.split(WORD_SEPARATORS).filter((word) => word.length > 0);

// Digits written for look-alike letters ("P.0. Box", "8ox"): keywords are compared on this
// skeleton, numbers on the words as written.
const LOOK_ALIKES: Readonly<Record<string, string>> = { '0': 'o', '1': 'i', l: 'i', '3': 'e', '4': 'a', '5': 's', '7': 't', '8': 'b' };

const COMBINING_MARKS = /\p{M}/gu;

/** Accents taken off ("boîte" → "boite"), so keywords need one spelling; digits are kept. */
export const withoutMarks = (word: string): string => word.normalize('NFD').replace(COMBINING_MARKS, '');

/** A word's skeleton: look-alike digits and letters folded together ("p0b0x" and "pobox" agree). */
export const skeleton = (word: string): string => {
  let out = '';
  for (const char of word) out += LOOK_ALIKES[char] ?? char;
  return out;
};

/** Letters and digits only (postal codes: "981 23", "981-23" and "98123" agree). */
export const lettersAndDigits = (normalised: string): string => normalised.replace(/[^\p{L}\p{N}]/gu, '');
