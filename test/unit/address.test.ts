import fc from 'fast-check';
import { checkBillingCountry, checkShippingAddress, countryOf, isParcelLocker, isPoBox, normalisePostalCode } from '../../functions/kco/address.js';
import { MAX_FIELD_LENGTH, normaliseShopperText, wordsOf } from '../../functions/kco/shopper-text.js';
import { deAddress, seAddress, usAddress } from '../support/orders.js';

describe('isPoBox', () => {
  it.each([
    'PO Box 12',
    'P.O. Box 12',
    'P O Box',
    'p.o. box 7',
    'PO BOX 5',
    'POBox 5',
    'PO-Box 12',
    'P.O.-Box 12',
    'po-box',
    'Post Office Box 5',
    'post office box 5',
    'Postfach 1234',
    'Box 123',
    'box 123',
    ' Box 123 ',
    'Box #9',
    'POB 5',
    'P.O.B. 12',
    'Postbox 3',
    'Postbus 1200',
    'Postboks 44',
    'Boîte postale 12',
    'Apartado de correos 8',
    'Casella postale 22',
  ])('detects %j in street_address', (street) => {
    expect(isPoBox({ street_address: street, country: 'SE' })).toBe(true);
  });

  it.each(['Box Hill Road 5', 'Boxgatan 3', 'Pobrezni 12', 'Apollo Street 1', 'Postgatan 4', 'Lombard St 10', 'Storgatan 3', 'Box Hill', 'Via Po 5'])(
    'does not flag the legitimate street %j',
    (street) => {
      expect(isPoBox({ street_address: street, country: 'SE' })).toBe(false);
    },
  );

  it('treats "Box" as a PO box only as the first word and followed by a number', () => {
    expect(isPoBox({ street_address: 'Box 123' })).toBe(true);
    expect(isPoBox({ street_address: 'Box 123, Stockholm' })).toBe(true);
    expect(isPoBox({ street_address: 'Box No. 7' })).toBe(true);
    expect(isPoBox({ street_address: 'Box Hill Road 123' })).toBe(false);
    expect(isPoBox({ street_address: 'Storgatan 3 Box 123' })).toBe(false);
    expect(isPoBox({ street_address: 'Box' })).toBe(false);
  });

  // Written to slip past rules that match raw text: each must still be refused.
  it.each([
    ['fullwidth letters and digits', 'ＰＯ Ｂｏｘ １２'],
    ['a zero-width space inside the word', 'Post\u200bfach 12'],
    ['a soft hyphen inside the word', 'Post\u00adfach 12'],
    ['a word joiner between letters', 'P\u2060O Box 3'],
    ['a zero for the O', 'P.0. Box 12'],
    ['zeros and an eight for letters', 'P0 80X 12'],
    ['a slash', 'P/O Box 12'],
    ['hyphens between the words', 'Post-Office-Box 12'],
    ['no spaces at all', 'POBOX12'],
    ['the number glued on', 'Postfach1234'],
    ['mixed case and extra spaces', '  pO   bOx    9 '],
    ['a ligature-free fullwidth Postfach', 'Ｐｏｓｔｆａｃｈ 9'],
    ['AU Locked Bag', 'Locked Bag 2000'],
    ['NZ Private Bag', 'Private Bag 92019'],
    ['AU GPO Box', 'GPO Box 1234'],
    ['US PMB', 'PMB 512'],
    ['DE Pf.', 'Pf. 1234'],
    ['DE Postf.', 'Postf. 1234'],
    ['FR BP', 'BP 123'],
    ['ES Apdo.', 'Apdo. 45'],
    ['poste restante', 'Poste restante'],
    ['Box with a city after it', 'Box 123, Sundsvall'],
    ['Boîte postale without the accent', 'Boite Postale 5'],
  ])('refuses %s (%j)', (_name, street) => {
    expect(isPoBox({ street_address: JSON.parse(`"${street}"`) as string, country: 'SE' })).toBe(true);
  });

  it.each(['Box Hill Road', 'Boxgatan 3', 'Postgatan 1', 'Pobla de Segur', 'Boxtelseweg 12', 'Postweg 5', 'Pfarrgasse 3', 'Bpoststraat 1', 'Apollo Bay Road 4', 'Lockerbie Road 2', 'Private Road 7', 'Pmbstreet 1'])(
    'lets the real street %j pass',
    (street) => {
      expect(isPoBox({ street_address: street, country: 'SE' })).toBe(false);
      expect(isParcelLocker({ street_address: street, country: 'SE' })).toBe(false);
    },
  );

  it.each(['street_address2', 'street_name', 'street_number', 'house_extension', 'care_of', 'city', 'region'] as const)(
    'looks for a box in %s',
    (field) => {
      expect(isPoBox({ street_address: 'Storgatan 3', [field]: 'P.O. Box 12' })).toBe(true);
    },
  );

  it('looks at street_address2 and street_name too', () => {
    expect(isPoBox({ street_address: 'Storgatan 3', street_address2: 'PO Box 12' })).toBe(true);
    expect(isPoBox({ street_name: 'Postfach', street_number: '1234' })).toBe(true);
    expect(isPoBox({ street_address: 'Storgatan 3', street_address2: 'Apt 214' })).toBe(false);
  });

  it('reads a number with a letter after it ("12a") as the number a keyword needs', () => {
    expect(isPoBox({ street_address: 'Box 12a' })).toBe(true);
    expect(isPoBox({ street_address: 'Pf. 12b' })).toBe(true);
    expect(isPoBox({ street_address: 'BP 7c' })).toBe(true);
  });

  it('wants the number right after the keyword (or after "No."), not further on', () => {
    expect(isPoBox({ street_address: 'BP Station 4' })).toBe(false);
    expect(isPoBox({ street_address: 'Box Hill 12' })).toBe(false);
    expect(isPoBox({ street_address: 'Box No' })).toBe(false);
  });

  it('finds "Box" as the first word even after leading punctuation', () => {
    expect(isPoBox({ street_address: '"Box 123"' })).toBe(true);
    expect(isPoBox({ street_address: '- Box 123' })).toBe(true);
  });

  it('is false for an address without street fields', () => {
    expect(isPoBox({ country: 'SE', postal_code: '11335' })).toBe(false);
  });
});

describe('checkShippingAddress', () => {
  it('passes an allowed address under rules that restrict everything', () => {
    const rules = { shipping_countries: ['SE', 'DE'], blocked_postal_code_prefixes: { SE: ['981'] }, block_po_boxes: true };
    expect(checkShippingAddress(seAddress(), rules)).toBeUndefined();
    expect(checkShippingAddress(deAddress(), rules)).toBeUndefined();
  });

  it('passes any country when shipping_countries is absent', () => {
    expect(checkShippingAddress(usAddress(), {})).toBeUndefined();
  });

  it('answers shipping_country_not_allowed for a country outside the list', () => {
    expect(checkShippingAddress(usAddress(), { shipping_countries: ['SE', 'DE'] })).toBe('shipping_country_not_allowed');
  });

  it('compares the country case-insensitively', () => {
    expect(checkShippingAddress(seAddress({ country: 'se' }), { shipping_countries: ['SE'] })).toBeUndefined();
    expect(countryOf(seAddress({ country: 'se' }))).toBe('SE');
  });

  it('answers address_missing without an address or without a country', () => {
    expect(checkShippingAddress(undefined, {})).toBe('address_missing');
    expect(checkShippingAddress({ street_address: 'Storgatan 3', postal_code: '11335' }, {})).toBe('address_missing');
    expect(checkShippingAddress(seAddress({ country: '' }), {})).toBe('address_missing');
  });

  it.each(['98131', '981 31', '981-31', ' 98131'])('answers postal_code_blocked for %j under prefix 981', (postal) => {
    expect(checkShippingAddress(seAddress({ postal_code: postal }), { blocked_postal_code_prefixes: { SE: ['981'] } })).toBe(
      'postal_code_blocked',
    );
  });

  it('normalises spaces and case in the configured prefix as well as in the postal code', () => {
    const rules = { blocked_postal_code_prefixes: { GB: ['sw1a 1'] } };
    expect(checkShippingAddress({ country: 'GB', postal_code: 'SW1A 1AA' }, rules)).toBe('postal_code_blocked');
    expect(checkShippingAddress({ country: 'GB', postal_code: 'sw1a1aa' }, rules)).toBe('postal_code_blocked');
    expect(checkShippingAddress({ country: 'GB', postal_code: 'SW1A 2AA' }, rules)).toBeUndefined();
  });

  it('blocks a postal code under any one of several prefixes', () => {
    const rules = { blocked_postal_code_prefixes: { SE: ['113', '981'] } };
    expect(checkShippingAddress(seAddress({ postal_code: '981 23' }), rules)).toBe('postal_code_blocked');
    expect(checkShippingAddress(seAddress({ postal_code: '113 35' }), rules)).toBe('postal_code_blocked');
    expect(checkShippingAddress(seAddress({ postal_code: '411 15' }), rules)).toBeUndefined();
  });

  it('does not let a prefix written as the bare country code block every postal code', () => {
    const rules = { blocked_postal_code_prefixes: { SE: ['SE'] } };
    expect(checkShippingAddress(seAddress({ postal_code: '113 35' }), rules)).toBeUndefined();
  });

  it('does not block a postal code that only contains the prefix later on', () => {
    expect(checkShippingAddress(seAddress({ postal_code: '19815' }), { blocked_postal_code_prefixes: { SE: ['981'] } })).toBeUndefined();
  });

  it("applies a country's prefixes only to that country", () => {
    expect(checkShippingAddress(deAddress({ postal_code: '98100' }), { blocked_postal_code_prefixes: { SE: ['981'] } })).toBeUndefined();
  });

  it('answers po_box for a PO box only when block_po_boxes is set', () => {
    const poBox = seAddress({ street_address: 'Box 123' });
    expect(checkShippingAddress(poBox, { block_po_boxes: true })).toBe('po_box');
    expect(checkShippingAddress(poBox, { block_po_boxes: false })).toBeUndefined();
    expect(checkShippingAddress(poBox, {})).toBeUndefined();
  });

  it('checks country before postal code before PO box', () => {
    const rules = { shipping_countries: ['DE'], blocked_postal_code_prefixes: { SE: ['113'] }, block_po_boxes: true };
    const everythingWrong = seAddress({ street_address: 'PO Box 12', postal_code: '113 35' });
    expect(checkShippingAddress(everythingWrong, rules)).toBe('shipping_country_not_allowed');
    expect(checkShippingAddress(everythingWrong, { ...rules, shipping_countries: ['SE'] })).toBe('postal_code_blocked');
    expect(checkShippingAddress(everythingWrong, { block_po_boxes: true })).toBe('po_box');
  });
});

describe('checkBillingCountry', () => {
  it('passes an allowed billing country and any country without a list', () => {
    expect(checkBillingCountry(seAddress(), { billing_countries: ['SE'] })).toBeUndefined();
    expect(checkBillingCountry(usAddress(), {})).toBeUndefined();
  });

  it('answers billing_country_not_allowed for a country outside the list', () => {
    expect(checkBillingCountry(deAddress(), { billing_countries: ['SE'] })).toBe('billing_country_not_allowed');
  });

  it('ignores shipping rules: only billing_countries counts', () => {
    expect(checkBillingCountry(deAddress(), { shipping_countries: ['SE'] })).toBeUndefined();
  });

  it('answers address_missing without a billing address or country', () => {
    expect(checkBillingCountry(undefined, {})).toBe('address_missing');
    expect(checkBillingCountry({ city: 'Stockholm' }, { billing_countries: ['SE'] })).toBe('address_missing');
  });
});

describe('isParcelLocker', () => {
  it.each(['Packstation 123', 'Pack\u00adstation 123', 'Postfiliale 502', 'DHL Paketshop 12', 'Parcel locker 4', 'Paczkomat KRA01M', 'Amazon Locker - Hub', 'Pick-up point 7', 'ＰＡＣＫＳＴＡＴＩＯＮ 1'])(
    'finds %j',
    (street) => {
      expect(isParcelLocker({ street_address: JSON.parse(`"${street}"`) as string, country: 'DE' })).toBe(true);
    },
  );

  it('is its own opt-in rule: block_po_boxes alone lets a Packstation through', () => {
    const address = deAddress({ street_address: 'Packstation 123' });
    expect(checkShippingAddress(address, { block_po_boxes: true })).toBeUndefined();
    expect(checkShippingAddress(address, { block_parcel_lockers: true })).toBe('parcel_locker');
  });
});

describe('normalisePostalCode', () => {
  it.each([
    ['981 23', 'SE', '98123'],
    ['SE-981 23', 'SE', '98123'],
    ['S-98123', 'SE', '98123'],
    ['se98123', 'SE', '98123'],
    ['９８１ ２３', 'SE', '98123'],
    ['981\u200b23', 'SE', '98123'],
    ['D-10115', 'DE', '10115'],
    ['DE 10115', 'DE', '10115'],
    ['1234 ab', 'NL', '1234AB'],
    ['NL-1234 AB', 'NL', '1234AB'],
    ['SW1A 1AA', 'GB', 'SW1A1AA'],
    ['D02 X285', 'IE', 'D02X285'],
    ['S.981 23', 'SE', '98123'],
    ['D01067', 'DE', '01067'],
    // Malta's codes begin with letters (MTF: Mtarfa): "MT" followed by a letter is not a prefix.
    ['MTF 1010', 'MT', 'MTF1010'],
    ['SE', 'SE', 'SE'],
  ])('%j in %s compares as %j', (code, country, expected) => {
    expect(normalisePostalCode(JSON.parse(`"${code}"`) as string, country)).toBe(expected);
  });

  it('blocks a prefix however the shopper writes the code', () => {
    const rules = { blocked_postal_code_prefixes: { SE: ['981'] } };
    for (const postal_code of ['98123', 'SE-981 23', 'S-98123', '９８１２３', 'se 981 23']) {
      expect([postal_code, checkShippingAddress(seAddress({ postal_code }), rules)]).toEqual([postal_code, 'postal_code_blocked']);
    }
    expect(checkShippingAddress(seAddress({ postal_code: '11335' }), rules)).toBeUndefined();
  });
});

describe('normaliseShopperText', () => {
  it('trims, collapses whitespace and folds case', () => {
    expect(normaliseShopperText('  PO \t Box\n12  ')).toBe('po box 12');
    expect(countryOf({ country: ' se ' })).toBe('SE');
  });

  it('reads only the first MAX_FIELD_LENGTH characters (a bounded cost), even when they are blank', () => {
    expect(normaliseShopperText(' '.repeat(MAX_FIELD_LENGTH) + 'PO Box 12')).toBe('');
  });

  it('caps the result again when NFKC lengthens the text', () => {
    // "㎏" (one character) becomes "kg" (two).
    expect(normaliseShopperText('㎏'.repeat(MAX_FIELD_LENGTH))).toBe('kg'.repeat(MAX_FIELD_LENGTH / 2));
  });
});

describe('wordsOf', () => {
  it('gives the runs of letters and digits, with no empty word for leading or trailing separators', () => {
    expect(wordsOf('"box 123"')).toEqual(['box', '123']);
    expect(wordsOf('p.o. box')).toEqual(['p', 'o', 'box']);
    expect(wordsOf('')).toEqual([]);
    expect(wordsOf('--')).toEqual([]);
  });
});

describe('disguises change nothing (properties)', () => {
  const invisible = fc.constantFrom('\u200b', '\u200c', '\u200d', '\u2060', '\u00ad', '\ufeff');
  const toFullwidth = (text: string): string => text.replace(/[!-~]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0));
  const streets = fc.oneof(
    fc.constantFrom('PO Box 12', 'Postfach 9', 'Box 123', 'Packstation 5', 'Storgatan 3', 'Box Hill Road', 'Pobla de Segur', 'Locked Bag 2000'),
    fc.string({ maxLength: 40 }),
  );

  it('an address is a PO box or a parcel locker whether or not invisible characters sit between its letters', () => {
    fc.assert(
      fc.property(streets, fc.array(fc.tuple(fc.nat(), invisible), { maxLength: 8 }), (street, insertions) => {
        let disguised = street;
        for (const [at, char] of insertions) {
          const i = at % (disguised.length + 1);
          disguised = disguised.slice(0, i) + char + disguised.slice(i);
        }
        expect(isPoBox({ street_address: disguised })).toBe(isPoBox({ street_address: street }));
        expect(isParcelLocker({ street_address: disguised })).toBe(isParcelLocker({ street_address: street }));
      }),
    );
  });

  it('fullwidth and case make no difference', () => {
    fc.assert(
      fc.property(streets, (street) => {
        expect(isPoBox({ street_address: toFullwidth(street) })).toBe(isPoBox({ street_address: street }));
        expect(isPoBox({ street_address: street.toUpperCase() })).toBe(isPoBox({ street_address: street.toLowerCase() }));
      }),
    );
  });
});
