/**
 * The npm package as a merchant gets it: `npm pack`, installed offline from the tarball into a
 * copy of examples/merchant-app in a temporary folder (aws-cdk-lib, constructs, cdk-nag and
 * @types/node linked from this node_modules: no network), type-checked against the package's
 * .d.ts, and synthesized with two instances under cdk-nag's AWS Solutions checks, with no esbuild
 * on PATH and no function source: the Lambda code is the prebuilt bundles.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { esbuildOptions } from '../../lib/klarna-function.js';
import { commandFunctions } from '../../lib/order-commands.js';
import { lifecycleFunctions } from '../../lib/order-lifecycle.js';
import { rulesCheckerFunction } from '../../lib/rules-checker.js';
import { functions } from '../../lib/routes.js';

const run = promisify(execFile);
const root = process.cwd();
const packageJson = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { name: string; version: string };
const definitions = [...Object.values(functions), ...Object.values(lifecycleFunctions), rulesCheckerFunction, ...Object.values(commandFunctions)];
type Json = Record<string, unknown>;

let dir: string;
let tarball: string;
let app: string;
let files: string[];
// Node alone on PATH (and the system's tools): no esbuild, no npx esbuild, no tsx.
const bareEnv = (): NodeJS.ProcessEnv => ({ ...process.env, PATH: `${path.dirname(process.execPath)}:/usr/bin:/bin` });

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'klarna-package-'));
  // `npm pack` runs `prepack` (npm run build: tsc and the bundles).
  const packed = await run('npm', ['pack', '--json', '--pack-destination', dir], { cwd: root, maxBuffer: 64 * 1024 * 1024 });
  // Lifecycle scripts may print before npm's JSON.
  const [info] = JSON.parse(packed.stdout.slice(packed.stdout.search(/^\[/m))) as [{ filename: string; files: { path: string }[] }];
  tarball = path.join(dir, info.filename);
  files = info.files.map((file) => file.path);

  app = path.join(dir, 'merchant-app');
  mkdirSync(app);
  for (const file of ['app.ts', 'cdk.json', 'tsconfig.json']) cpSync(path.join(root, 'examples/merchant-app', file), path.join(app, file));
  writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'merchant-app', private: true, type: 'module', dependencies: { [packageJson.name]: `file:${tarball}` } }));
  // From the tarball, offline; the peers are linked afterwards (npm would prune them first).
  await run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', '--legacy-peer-deps'], { cwd: app, env: bareEnv() });
  mkdirSync(path.join(app, 'node_modules/@types'), { recursive: true });
  for (const peer of ['aws-cdk-lib', 'constructs', 'cdk-nag', '@types/node']) symlinkSync(path.join(root, 'node_modules', peer), path.join(app, 'node_modules', peer));
}, 300_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('npm pack', () => {
  it('ships the compiled construct with its types, the prebuilt bundles and the changelog, and no TypeScript source or tests', () => {
    expect(files).toEqual(expect.arrayContaining(['package.json', 'CHANGELOG.md', 'dist/lib/index.js', 'dist/lib/index.d.ts', 'dist/lib/klarna-stack.d.ts']));
    for (const { id } of definitions) expect(files).toEqual(expect.arrayContaining([`dist/bundles/${id}/index.mjs`, `dist/bundles/${id}/index.mjs.map`]));
    expect(files.filter((file) => /\.ts$/.test(file) && !file.endsWith('.d.ts'))).toEqual([]);
    expect(files.filter((file) => file.startsWith('test/') || file.startsWith('functions/') || file.startsWith('bin/'))).toEqual([]);
  });

  it('declares aws-cdk-lib and constructs as peers, nothing to install besides, and exports with types', () => {
    const installed = JSON.parse(readFileSync(path.join(app, 'node_modules', packageJson.name, 'package.json'), 'utf8')) as Json;
    expect(installed.peerDependencies).toEqual({ 'aws-cdk-lib': expect.any(String), constructs: expect.any(String) });
    expect(installed.dependencies).toBeUndefined();
    expect(installed.exports).toMatchObject({ '.': { types: './dist/lib/index.d.ts', default: './dist/lib/index.js' } });
    expect(installed.version).toBe(packageJson.version);
    expect(readFileSync(path.join(root, 'CHANGELOG.md'), 'utf8')).toContain(`## [${packageJson.version}] - `);
  });

  it('has types that import nothing but aws-cdk-lib, constructs and its own files', () => {
    const typesDir = path.join(app, 'node_modules', packageJson.name, 'dist/lib');
    const imported = readdirSync(typesDir)
      .filter((file) => file.endsWith('.d.ts'))
      .flatMap((file) => [...readFileSync(path.join(typesDir, file), 'utf8').matchAll(/^(?:import|export)\b[^\n]*from '([^']+)';$/gm)].map((match) => match[1] ?? ''));
    expect(imported.filter((spec) => !spec.startsWith('.') && !/^(aws-cdk-lib|constructs)(\/|$)/.test(spec))).toEqual([]);
  });

  it('ships bundles byte for byte the ones THE esbuild options make (the bundles test/infra/bundle.test.ts loads)', async () => {
    const fresh = path.join(dir, 'fresh');
    for (const { id, entry } of definitions) {
      const outfile = path.join(fresh, id, 'index.mjs');
      await build({ ...esbuildOptions(path.join(root, entry), outfile), logLevel: 'silent' });
      const shipped = readFileSync(path.join(app, 'node_modules', packageJson.name, 'dist/bundles', id, 'index.mjs'));
      expect({ id, same: shipped.equals(readFileSync(outfile)) }).toEqual({ id, same: true });
    }
  }, 120_000);
});

describe('examples/merchant-app, installed from the tarball', () => {
  it('type-checks against the package’s types', async () => {
    await expect(run(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', app], { cwd: app })).resolves.toBeDefined();
  }, 120_000);

  it('synthesizes two instances with no esbuild and no function source, and passes cdk-nag', async () => {
    const outdir = path.join(app, 'cdk.out');
    await run(process.execPath, ['app.ts'], { cwd: app, env: { ...bareEnv(), CDK_OUTDIR: outdir, CDK_DEFAULT_REGION: 'eu-north-1' } });
    const template = JSON.parse(readFileSync(path.join(outdir, 'ShopCheckout.template.json'), 'utf8')) as { Resources: Record<string, { Type: string; Properties: Json; Metadata?: Json }> };
    const resources = Object.values(template.Resources);
    expect(resources.filter((resource) => resource.Type === 'AWS::ApiGateway::RestApi')).toHaveLength(2);
    const lambdas = resources.filter((resource) => resource.Type === 'AWS::Lambda::Function');
    // Sweden: all ten (the rules checker among them) and the four of the shop's commands; Usa without OSM: nine and four.
    expect(lambdas).toHaveLength(27);
    // Each function's code is a packaged bundle as it is: the asset's index.mjs is one of them.
    const assets = JSON.parse(readFileSync(path.join(outdir, 'ShopCheckout.assets.json'), 'utf8')) as { files: Record<string, { source: { path: string } }> };
    const shipped = definitions.map((def) => readFileSync(path.join(app, 'node_modules', packageJson.name, 'dist/bundles', def.id, 'index.mjs')));
    for (const lambda of lambdas) {
      expect(lambda.Properties).toMatchObject({ Runtime: 'nodejs24.x', Handler: 'index.handler' });
      const key = (lambda.Properties.Code as { S3Key: string }).S3Key;
      const asset = assets.files[key.replace(/\.zip$/, '')]?.source.path ?? 'missing';
      const code = readFileSync(path.join(outdir, asset, 'index.mjs'));
      expect(shipped.some((bundle) => bundle.equals(code))).toBe(true);
    }
    expect(existsSync(path.join(app, 'node_modules/esbuild'))).toBe(false);
  }, 120_000);

  it('really runs cdk-nag there: an unencrypted topic without TLS fails the same synth', async () => {
    const probe = readFileSync(path.join(app, 'app.ts'), 'utf8').replace(
      "// Synth fails on any unacknowledged AWS Solutions finding.",
      "new Topic(stack, 'NagProbe');\n// Synth fails on any unacknowledged AWS Solutions finding.",
    );
    writeFileSync(path.join(app, 'probe.ts'), probe);
    await expect(
      run(process.execPath, ['probe.ts'], { cwd: app, env: { ...bareEnv(), CDK_OUTDIR: path.join(app, 'probe.out'), CDK_DEFAULT_REGION: 'eu-north-1' } }),
    ).rejects.toThrow(/AwsSolutions-SNS3/);
  }, 120_000);
});
