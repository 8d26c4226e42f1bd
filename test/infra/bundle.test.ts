/**
 * Really bundles every Lambda entry with esbuild, with the options the CDK stack uses
 * (`esbuildOptions` from lib/klarna-function.ts), and loads each bundle in a separate Node process
 * from a directory without node_modules: what runs in Lambda is one self-contained .mjs file.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { App } from 'aws-cdk-lib';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { build, type Metafile } from 'esbuild';
import { bundlingOptions, esbuildOptions, esmRequireBanner, lambdaUnreachableCredentialProviders } from '../../lib/klarna-function.js';
import type { KlarnaFunction } from '../../lib/klarna-function.js';
import { rulesCheckerFunction } from '../../lib/rules-checker.js';
import { KlarnaStack } from '../../lib/klarna-stack.js';
import { lifecycleFunctions } from '../../lib/order-lifecycle.js';
import { expirySweepFunction } from '../../lib/order-commands.js';
import { functions, orderCommandEventsFunction, orderCommandPublisherFunction, orderCommandsFunction } from '../../lib/routes.js';

const run = promisify(execFile);
// Five esbuild runs start at once; on a busy 2-core machine the first awaited one can take longer
// than Jest's 5 s default. This is a limit, not a measurement: nothing asserts the time.
jest.setTimeout(60_000);
const root = process.cwd();

/**
 * Every Lambda of the stack: the routed functions of lib/routes.ts, and the order lifecycle's
 * stream publisher and sweeper (lib/order-lifecycle.ts) and the rules checker (lib/rules-checker.ts),
 * which no route serves.
 */
const stack = new KlarnaStack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'BundleTest', { env: { region: 'eu-north-1' } });
type LambdaUnderTest = { readonly id: string; readonly entry: string; readonly readsDynamoDb: boolean; readonly fn: KlarnaFunction | undefined };
const definitions: readonly LambdaUnderTest[] = [
  ...Object.values(functions).map((def) => ({ id: def.id, entry: def.entry, readsDynamoDb: def.tables.length > 0, fn: stack.functions.get(def) })),
  { ...lifecycleFunctions.publisher, readsDynamoDb: false, fn: stack.orders.publisher },
  { ...lifecycleFunctions.sweeper, readsDynamoDb: true, fn: stack.orders.sweeper },
  { ...rulesCheckerFunction, readsDynamoDb: true, fn: stack.rulesChecker.checker },
  { ...orderCommandsFunction, readsDynamoDb: true, fn: stack.commands.commandFunction },
  { ...orderCommandEventsFunction, readsDynamoDb: true, fn: stack.commands.eventFunction },
  { ...orderCommandPublisherFunction, readsDynamoDb: false, fn: stack.commands.publisher },
  { ...expirySweepFunction, readsDynamoDb: true, fn: stack.commands.expirySweep },
];

type Bundle = { readonly outfile: string; readonly metafile: Metafile };
const outdir = mkdtempSync(path.join(tmpdir(), 'klarna-bundles-'));
const bundles = new Map<string, Promise<Bundle>>();

const bundle = (def: LambdaUnderTest): Promise<Bundle> => {
  let pending = bundles.get(def.id);
  if (!pending) {
    const outfile = path.join(outdir, `${def.id}.mjs`);
    pending = build({ ...esbuildOptions(path.join(root, def.entry), outfile), metafile: true, logLevel: 'silent' }).then(
      (result) => ({ outfile, metafile: result.metafile }),
    );
    // Reported by the test that awaits it.
    pending.catch(() => undefined);
    bundles.set(def.id, pending);
  }
  return pending;
};

/**
 * The environment the stack gives the function, with stand-ins for values only known after deploy
 * (table names, secret ARNs): a bundle that needs a variable the stack does not set fails to load.
 */
const environmentFor = (def: LambdaUnderTest): Record<string, string> => {
  const cfn = def.fn?.function.node.defaultChild as CfnFunction | undefined;
  if (!cfn) throw new Error(`the stack has no function ${def.id}`);
  const { variables } = stack.resolve(cfn.environment) as { variables: Record<string, unknown> };
  return Object.fromEntries(
    Object.entries(variables).map(([name, value]) => [
      name,
      typeof value === 'string'
        ? value
        : name.endsWith('_SECRET_ARN')
          ? `arn:aws:secretsmanager:eu-north-1:123456789012:secret:${name}-AbCdEf`
          : `test-${name}`,
    ]),
  );
};

const loader = `
const mod = await import(process.argv[1]);
process.stdout.write(JSON.stringify({ handler: typeof mod.handler, exports: Object.keys(mod).sort() }));
`;

beforeAll(() => {
  // Start all builds at once; each test awaits its own.
  for (const def of definitions) void bundle(def);
});

afterAll(() => {
  rmSync(outdir, { recursive: true, force: true });
});

describe('bundling options', () => {
  it('are the options the Lambda functions are built with: ESM, Node 24 syntax, minified, source maps, only Lambda-unreachable credential providers external', () => {
    expect(bundlingOptions).toMatchObject({
      format: 'esm',
      target: 'node24',
      minify: true,
      sourceMap: true,
      bundleAwsSDK: true,
      externalModules: [...lambdaUnreachableCredentialProviders],
      forceDockerBundling: false,
      banner: esmRequireBanner,
    });
    expect(esbuildOptions('in.ts', 'out.mjs')).toMatchObject({
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node24',
      minify: true,
      sourcemap: true,
      external: [...lambdaUnreachableCredentialProviders],
      banner: { js: esmRequireBanner },
    });
  });
});

describe.each(definitions.map((def) => [def.id, def] as const))('%s', (_id, def) => {
  it(`has its entry file ${def.entry}`, () => {
    expect(existsSync(path.join(root, def.entry))).toBe(true);
  });

  it('bundles into one ESM file that imports nothing but Node built-ins (the AWS SDK is inside)', async () => {
    const { outfile, metafile } = await bundle(def);
    const output = metafile.outputs[path.relative(root, outfile)] ?? Object.values(metafile.outputs).find((o) => o.entryPoint);
    expect(output).toBeDefined();
    const external = (output?.imports ?? []).filter((imported) => imported.external && !imported.path.startsWith('node:') && !isBuiltin(imported.path));
    // Only the credential providers Lambda never reaches, and only behind a dynamic import():
    // a static import of one would fail at load time in Lambda, where they are not installed.
    const unreachable: readonly string[] = lambdaUnreachableCredentialProviders;
    for (const imported of external) {
      expect({ path: imported.path, kind: imported.kind, allowed: unreachable.some((name) => imported.path === name || imported.path.startsWith(`${name}/`)) }).toEqual({
        path: imported.path,
        kind: 'dynamic-import',
        allowed: true,
      });
    }
    // Nothing of the tools (the benchmark's stand-ins for Powertools among them) reaches a function.
    expect(Object.keys(metafile.inputs).filter((input) => input.startsWith('bin/'))).toEqual([]);
    if (def.readsDynamoDb) {
      // The DynamoDB client comes from our node_modules, not from the Lambda runtime.
      expect(Object.keys(metafile.inputs).some((input) => input.includes('node_modules/@aws-sdk/client-dynamodb/'))).toBe(true);
    }
    const code = readFileSync(outfile, 'utf8');
    expect(code.startsWith(esmRequireBanner)).toBe(true);
    // Under 340 KiB minified: what Lambda loads at every cold start (the size shows when it fails).
    const kib = Math.round((statSync(outfile).size / 1024) * 10) / 10;
    expect({ kib, under340: kib < 340 }).toEqual({ kib, under340: true });
    expect(existsSync(`${outfile}.map`)).toBe(true);
  });

  it('loads in Node and exports a function named handler', async () => {
    const { outfile } = await bundle(def);
    const { stdout } = await run(process.execPath, ['--input-type=module', '--eval', loader, outfile], {
      cwd: outdir,
      env: {
        PATH: process.env.PATH ?? '',
        AWS_REGION: 'eu-north-1',
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        ...environmentFor(def),
      },
      timeout: 20_000,
    });
    const loaded = JSON.parse(stdout) as { handler: string; exports: string[] };
    expect(loaded.handler).toBe('function');
  });
});

const builtins: ReadonlySet<string> = new Set(builtinModules);
function isBuiltin(name: string): boolean {
  return builtins.has(name) || builtins.has(name.split('/')[0] ?? name);
}
