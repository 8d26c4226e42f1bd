/**
 * Checked against the template the app synthesizes today. docs/cost.md shows what `npm run cost`
 * computes: from the template the app synthesizes
 * now and the committed price table, every price with its source. A new alarm, secret or rule,
 * or a changed price, fails this until `npm run cost -- --write` is run; the README's one line
 * rounds the same figures.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { costSection, fixedMonthly, perThousandCheckouts, renderCost, type PriceTable, type Template } from '../../bin/cost/model.js';
import { synthesizedTemplate } from '../../bin/cost/synth.js';
import { read, root } from './markdown.js';

jest.setTimeout(180_000);

const prices = JSON.parse(readFileSync(join(root, 'bin/cost/prices.json'), 'utf8')) as PriceTable;
let template: Template;

beforeAll(async () => {
  template = await synthesizedTemplate(root);
});

it('the price table is dated, and every price names its source', () => {
  expect(prices.date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  for (const [key, price] of Object.entries(prices.prices)) {
    expect({ key, source: price.source }).toEqual({ key, source: expect.stringMatching(/^https:\/\/aws\.amazon\.com\/[a-z0-9/-]+\/$/) as string });
    expect(price.usd).toBeGreaterThan(0);
    expect(price.as_published.length).toBeGreaterThan(0);
  }
});

it('docs/cost.md shows the figures of today’s template and prices', () => {
  expect(costSection(read('docs/cost.md'))).toBe(renderCost(template, prices));
});

it('counts what the template deploys: secrets, alarms, the web ACL', () => {
  const fixed = Object.fromEntries(fixedMonthly(template, prices).map((l) => [l.item, l.quantity]));
  const count = (type: string): number => Object.values(template.Resources).filter((r) => r.Type === type).length;
  expect(fixed['Secrets Manager secrets']).toBe(count('AWS::SecretsManager::Secret'));
  expect(fixed['CloudWatch alarm metrics']).toBeGreaterThanOrEqual(count('AWS::CloudWatch::Alarm'));
  expect(fixed['WAF web ACLs']).toBe(count('AWS::WAFv2::WebACL'));
});

it('every alarm the template holds has its runbook row in docs/operations.md', () => {
  // `<Function>ErrorsAlarm` in a row stands for each function's alarm of that kind.
  const rows = read('docs/operations.md')
    .split('\n')
    .filter((text) => text.startsWith('| `'))
    .map((text) => text.split('|')[1] ?? '');
  const patterns = rows.flatMap((cell) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => new RegExp(`^${m[1]!.replace(/<[^>]+>/g, '[A-Za-z0-9]+')}$`)));
  const alarms = Object.entries(template.Resources)
    .filter(([, resource]) => resource.Type === 'AWS::CloudWatch::Alarm')
    .map(([logicalId]) => logicalId.replace(/[0-9A-F]{8}$/, ''));
  expect(alarms.length).toBeGreaterThan(10);
  expect(alarms.filter((alarm) => !patterns.some((pattern) => pattern.test(alarm)))).toEqual([]);
});

it('the README’s one line rounds the same figures', () => {
  const idle = fixedMonthly(template, prices).reduce((sum, l) => sum + l.usd, 0);
  const perThousand = perThousandCheckouts(template, prices).reduce((sum, l) => sum + l.usd, 0);
  const line = read('README.md').split('\n').find((text) => text.includes('docs/cost.md') && text.includes('a month')) ?? '';
  expect(line).toContain(`$${Math.round(idle)} a month`);
  expect(line).toContain(`$${perThousand.toFixed(2)} per 1 000 checkouts`);
});
