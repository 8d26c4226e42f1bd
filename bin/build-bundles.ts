/**
 * The package's prebuilt Lambda code (part of `npm run build`, run by `npm pack`): one bundle per
 * function, `dist/bundles/<function id>/index.mjs` and its source map, made with THE esbuild
 * options (`esbuildOptions`, the ones test/infra/bundle.test.ts loads). The packaged construct
 * deploys these as they are (lib/klarna-function.ts), so a merchant's synth runs no esbuild.
 */
import { mkdir, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { esbuildOptions, prebuiltBundlesDir } from '../lib/klarna-function.js';
import { commandFunctions } from '../lib/order-commands.js';
import { lifecycleFunctions } from '../lib/order-lifecycle.js';
import { rulesCheckerFunction } from '../lib/rules-checker.js';
import { functions } from '../lib/routes.js';

const out = resolve(process.argv[2] ?? 'dist/bundles');
// Never into the folder the construct would pick up when running from these sources.
if (resolve(prebuiltBundlesDir) === out) throw new Error(`refusing to write bundles to ${out}: lib/ would deploy them instead of its sources`);
const definitions = [...Object.values(functions), ...Object.values(lifecycleFunctions), rulesCheckerFunction, ...Object.values(commandFunctions)];
await rm(out, { recursive: true, force: true });
for (const { id, entry } of definitions) {
  const dir = join(out, id);
  await mkdir(dir, { recursive: true });
  const outfile = join(dir, 'index.mjs');
  await build({ ...esbuildOptions(resolve(entry), outfile), logLevel: 'warning' });
  process.stderr.write(`${id}: ${((await stat(outfile)).size / 1024).toFixed(1)} KiB\n`);
}
