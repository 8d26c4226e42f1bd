/**
 * `npm run cost`: synthesizes the repository's CDK app (bin/app.ts, default settings, no
 * bundling), reads the template, and prints the fixed monthly cost of an idle deployment and the
 * cost per 1 000 checkouts from bin/cost/prices.json. `npm run cost -- --write` also updates the
 * figures in docs/cost.md. No network: the prices are the committed table.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { renderCost, withCostSection, type PriceTable } from './cost/model.js';
import { synthesizedTemplate } from './cost/synth.js';

const root = resolve(import.meta.dirname, '..');
const prices = JSON.parse(readFileSync(resolve(root, 'bin/cost/prices.json'), 'utf8')) as PriceTable;
const section = renderCost(await synthesizedTemplate(root), prices);
process.stdout.write(`${section}\n`);
if (process.argv.includes('--write')) {
  const page = resolve(root, 'docs/cost.md');
  writeFileSync(page, withCostSection(readFileSync(page, 'utf8'), section));
  process.stdout.write(`\nUpdated ${page}\n`);
}
