/**
 * Klarna's consistency checks on an order we answer, written again here in BigInt, from Klarna's
 * definitions and without functions/kco/money.ts: `priceOrder` already runs `reconcile` on every
 * order it returns, so a test that wants to catch a wrong total needs a second, independent check.
 * Returns what is wrong, one text per problem: `[]` when Klarna would accept the order.
 */
type Line = {
  type?: string | undefined;
  quantity: number;
  unit_price: number;
  tax_rate: number;
  total_amount: number;
  total_discount_amount?: number | undefined;
  total_tax_amount: number;
};

export const klarnaViolations = (order: { order_amount: number; order_tax_amount: number; order_lines: readonly Line[] }): string[] => {
  const problems: string[] = [];
  const integer = (name: string, value: number | undefined) => {
    if (value !== undefined && !Number.isSafeInteger(value)) problems.push(`${name} ${value} is not an integer`);
  };
  integer('order_amount', order.order_amount);
  integer('order_tax_amount', order.order_tax_amount);
  if (order.order_amount < 0) problems.push(`order_amount ${order.order_amount} is negative`);
  if (order.order_tax_amount < 0) problems.push(`order_tax_amount ${order.order_tax_amount} is negative`);

  let amount = 0n;
  let tax = 0n;
  order.order_lines.forEach((l, i) => {
    for (const field of ['quantity', 'unit_price', 'tax_rate', 'total_amount', 'total_discount_amount', 'total_tax_amount'] as const) {
      integer(`line ${i} ${field}`, l[field]);
    }
    if (problems.length > 0) return;
    const total = BigInt(l.total_amount);
    const lineTax = BigInt(l.total_tax_amount);
    const rate = BigInt(l.tax_rate);
    const expectedTotal = BigInt(l.quantity) * BigInt(l.unit_price) - BigInt(l.total_discount_amount ?? 0);
    if (total !== expectedTotal) problems.push(`line ${i}: total_amount ${total} is not quantity × unit_price − discount = ${expectedTotal}`);
    // |tax − total × rate / (10000 + rate)| ≤ 1, multiplied out so that nothing is rounded.
    const scale = 10000n + rate;
    const off = lineTax * scale - total * rate;
    if ((off < 0n ? -off : off) > scale) problems.push(`line ${i}: total_tax_amount ${lineTax} is more than 1 off ${total} at ${rate}`);
    amount += total;
    tax += l.type === 'sales_tax' ? lineTax + total : lineTax;
  });
  if (problems.length > 0) return problems;
  if (BigInt(order.order_amount) !== amount) problems.push(`order_amount ${order.order_amount} is not the sum of the lines ${amount}`);
  if (BigInt(order.order_tax_amount) !== tax) problems.push(`order_tax_amount ${order.order_tax_amount} is not the sum of the line taxes ${tax}`);
  return problems;
};
