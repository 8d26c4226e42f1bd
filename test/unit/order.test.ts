import { firstIssuePath, orderSchemas } from '../../functions/kco/order.js';
import { callbackRequest, line } from '../support/orders.js';

const issueAt = (...path: PropertyKey[]) => ({ issues: [{ path }] });

describe('firstIssuePath', () => {
  it('names a bad field of an order line as Klarna writes it', () => {
    const parsed = orderSchemas().callbackRequest.safeParse({ ...callbackRequest(), order_lines: [line(), { ...line(), total_amount: 1.5 }] });
    expect(parsed.success).toBe(false);
    expect(!parsed.success && firstIssuePath(parsed.error)).toBe('order_lines[1].total_amount');
  });

  it('joins field names with dots and indexes in brackets', () => {
    expect(firstIssuePath(issueAt('shipping_address', 'postal_code'))).toBe('shipping_address.postal_code');
    expect(firstIssuePath(issueAt('order_lines', 0, 'tags', 2))).toBe('order_lines[0].tags[2]');
  });

  it('keeps the dot after a leading index', () => {
    expect(firstIssuePath(issueAt(3, 'name'))).toBe('[3].name');
  });

  it('names only the first issue', () => {
    expect(firstIssuePath({ issues: [{ path: ['locale'] }, { path: ['order_amount'] }] })).toBe('locale');
  });

  it('says (body) for an issue with the body itself or no issue at all', () => {
    const parsed = orderSchemas().callbackRequest.safeParse('not an order');
    expect(!parsed.success && firstIssuePath(parsed.error)).toBe('(body)');
    expect(firstIssuePath(issueAt())).toBe('(body)');
    expect(firstIssuePath({ issues: [] })).toBe('(body)');
  });
});
