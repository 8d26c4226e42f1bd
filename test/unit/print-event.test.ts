import { formatOrderEvent, maskPersonalData, MASK } from '../../bin/local/print-event.js';

const recorded = {
  schema_version: 1,
  order_id: 'o-1',
  sequence: 1,
  status: 'recorded',
  fraud_status: 'ACCEPTED',
  may_ship: false,
  order_amount: 29900,
  purchase_currency: 'SEK',
  merchant_reference1: 'shop-1',
  order: {
    order_lines: [{ type: 'physical', reference: 'TS-1', name: 'T-shirt', quantity: 2, total_amount: 25000 }],
    shipping_address: { given_name: 'Testperson-se', family_name: 'Approved', street_address: 'Stårgatan 1', postal_code: '12345', city: 'Ankeborg', country: 'SE', care_of: 'C/O Someone' },
  },
};

describe('the order events npm start prints', () => {
  it('mask every field of the shipping address but the country', () => {
    const masked = maskPersonalData(recorded) as typeof recorded;
    expect(masked.order.shipping_address).toEqual({
      given_name: MASK,
      family_name: MASK,
      street_address: MASK,
      postal_code: MASK,
      city: MASK,
      country: 'SE',
      care_of: MASK,
    });
  });

  it('keep ids, amounts, statuses and the lines as they are', () => {
    const masked = maskPersonalData(recorded) as typeof recorded;
    expect({ ...masked, order: { ...masked.order, shipping_address: undefined } }).toEqual({ ...recorded, order: { ...recorded.order, shipping_address: undefined } });
  });

  it('mask personal fields wherever they appear (a customer, an e-mail, a phone)', () => {
    expect(maskPersonalData({ customer: { date_of_birth: '1980-01-01', type: 'person' }, note: { email: 'a@b.c', phone: '+46700000000' } })).toEqual({
      customer: { date_of_birth: MASK, type: MASK },
      note: { email: MASK, phone: MASK },
    });
  });

  it('print no personal value', () => {
    const printed = formatOrderEvent({ source: 'klarna-serverless', detailType: 'Order Recorded', detail: recorded, eventBusName: 'bus' });
    for (const personal of ['Testperson-se', 'Approved', 'Stårgatan', '12345', 'Ankeborg', 'Someone']) expect(printed).not.toContain(personal);
    expect(printed).toContain('"Order Recorded" order o-1 #1: recorded, fraud ACCEPTED, may_ship false');
  });
});
