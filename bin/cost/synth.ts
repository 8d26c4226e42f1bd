/**
 * The repository's CDK app synthesized as `cdk synth` would (bin/app.ts, default settings, the
 * price table's region), into a temporary folder, without bundling the functions: only the
 * template is read.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Template } from './model.js';

export const synthesizedTemplate = async (root: string): Promise<Template> => {
  const out = await mkdtemp(join(tmpdir(), 'cost-synth-'));
  try {
    // In the price table's region (bin/cost/prices.json): the app needs one for the extension's layer.
    const env = { ...process.env, CDK_OUTDIR: out, CDK_CONTEXT_JSON: JSON.stringify({ 'aws:cdk:bundling-stacks': [], region: 'us-east-1' }) };
    const code = await new Promise<number | null>((done, fail) => {
      const child = spawn(join(root, 'node_modules/.bin/tsx'), [join(root, 'bin/app.ts')], { cwd: root, env, stdio: ['ignore', 'ignore', 'inherit'] });
      child.once('error', fail);
      child.once('exit', done);
    });
    if (code !== 0) throw new Error(`bin/app.ts did not synthesize (exit ${String(code)})`);
    const templates = (await readdir(out)).filter((name) => name.endsWith('.template.json'));
    if (templates.length !== 1) throw new Error(`expected one stack template, found ${templates.join(', ') || 'none'}`);
    return JSON.parse(await readFile(join(out, templates[0]!), 'utf8')) as Template;
  } finally {
    await rm(out, { recursive: true, force: true });
  }
};
