/**
 * One Lambda function with this project's defaults. The stack creates one per entry in
 * `functions` (lib/routes.ts); nothing about runtime, bundling or logging is repeated there.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import {
  Architecture,
  Code,
  Function as LambdaFunction,
  ParamsAndSecretsLayerVersion,
  ParamsAndSecretsLogLevel,
  ParamsAndSecretsVersions,
  Runtime,
  Tracing,
  type ParamsAndSecretsOptions,
} from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, SourceMapMode, type BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { RegionInfo } from 'aws-cdk-lib/region-info';
import { Construct } from 'constructs';
import type { BuildOptions } from 'esbuild';

/**
 * An ESM module has no `require`, but CommonJS code bundled into one may still call it (today the
 * AWS SDK's optional probe for `@aws-sdk/signature-v4-crt`); esbuild's shim would then throw
 * "Dynamic require is not supported". The banner defines a real `require` once per bundle, under
 * an import name minification cannot collide with.
 */
export const esmRequireBanner =
  "import { createRequire as __klarnaCreateRequire } from 'node:module'; const require = __klarnaCreateRequire(import.meta.url);";

/**
 * Credential providers the SDK's default chain imports only when the environment holds no
 * credentials. Lambda always puts the function role's credentials in the environment, so the
 * chain stops at `fromEnv` and these (SSO, ini files, processes, web identity, container and
 * instance metadata, and the STS/SSO clients they use) are never loaded: left out of the bundle,
 * they save ~90 KiB of code every cold start would otherwise compile. They are reached only
 * through dynamic `import()`, which `test/infra/bundle.test.ts` checks.
 */
export const lambdaUnreachableCredentialProviders = [
  '@aws-sdk/credential-provider-sso',
  '@aws-sdk/credential-provider-ini',
  '@aws-sdk/credential-provider-process',
  '@aws-sdk/credential-provider-web-identity',
  '@aws-sdk/credential-provider-http',
  '@aws-sdk/credential-provider-login',
  '@aws-sdk/nested-clients',
  '@aws-sdk/token-providers',
  '@smithy/credential-provider-imds',
] as const;

/**
 * THE esbuild options for every function. `test/infra/bundle.test.ts` bundles each handler with
 * these same options (through `esbuildOptions` below) and loads the result in Node.
 */
export const bundlingOptions = {
  format: OutputFormat.ESM,
  // Node 24 everywhere: Lambda's nodejs24.x, and the tests, benchmarks and local server (the
  // `node` devDependency puts Node 24 first on npm scripts' PATH).
  target: 'node24',
  // Prefer the ESM builds of dependencies (the AWS SDK ships both): esbuild tree-shakes them.
  mainFields: ['module', 'main'],
  banner: esmRequireBanner,
  minify: true,
  sourceMap: true,
  sourceMapMode: SourceMapMode.DEFAULT,
  // Stack traces need line mappings, not a copy of our sources inside the deployment package.
  sourcesContent: false,
  // The AWS SDK v3 clients we use are bundled rather than taken from the runtime: the version is
  // the one pinned in package-lock.json and tested here (the runtime's copy changes under us
  // without a deploy), and a tree-shaken bundle of the few commands we call loads faster at cold
  // start than resolving the runtime's full SDK from /var/runtime.
  bundleAwsSDK: true,
  externalModules: [...lambdaUnreachableCredentialProviders],
  // esbuild from node_modules; never Docker (CI and laptops may not have it).
  forceDockerBundling: false,
} satisfies BundlingOptions;

/**
 * The esbuild JS API options equivalent to `bundlingOptions` (what NodejsFunction passes the CLI):
 * `npm run build` makes the packaged bundles with them. @internal (not in the package's types)
 */
export const esbuildOptions = (entryPoint: string, outfile: string): BuildOptions => ({
  entryPoints: [entryPoint],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: bundlingOptions.target,
  mainFields: bundlingOptions.mainFields,
  banner: { js: bundlingOptions.banner },
  minify: bundlingOptions.minify,
  sourcemap: bundlingOptions.sourceMap,
  sourcesContent: bundlingOptions.sourcesContent,
  external: bundlingOptions.externalModules,
  logLevel: 'warning',
});

/**
 * Memory and time, for Klarna's budget: Klarna waits 3 s for the validation callback's answer and
 * we hold every callback to that, cold start included.
 * - 1024 MB: Lambda allots CPU in proportion to memory (a full vCPU at 1769 MB). A cold start
 *   (parsing a ~300 KB bundle, building the DynamoDB client, its first TLS handshake;
 *   the Parameters and Secrets extension makes Secrets Manager's) is CPU-bound, so twice the
 *   memory of 512 MB buys about twice the CPU for it; at callback volumes the price difference is
 *   a rounding error.
 * - 3 s timeout for the callbacks (the default here): an answer after 3 s is worthless, since
 *   Klarna has already given up, so a hung invocation must not hold a container (and account
 *   concurrency) any longer. The handlers' own DynamoDB deadlines are far shorter (connect 300 ms,
 *   request 700 ms, two attempts); this is the backstop. Init time does not count against it.
 */
export const callbackMemorySize = 1024;
export const callbackTimeout = Duration.seconds(3);

/**
 * The AWS Parameters and Secrets Lambda Extension, a layer on every function that reads a secret
 * (functions/shared/secrets.ts asks it over HTTP on localhost instead of bundling the SDK's
 * Secrets Manager client). Its own cache is off: the functions keep each value themselves, with
 * a background refresh and a maximum age the extension's cache does not have, so a rotated
 * secret reaches them after SECRETS_CACHE_SECONDS and no later. Its request to Secrets Manager
 * gives up when ours does (SECRETS_REQUEST_TIMEOUT_MS).
 */
const secretsExtensionOptions: ParamsAndSecretsOptions = {
  cacheEnabled: false,
  secretsManagerTimeout: Duration.millis(700),
  logLevel: ParamsAndSecretsLogLevel.WARN,
};
const secretsExtensionVersion = ParamsAndSecretsVersions.V1_0_103;
/** The functions' architecture, which the extension's layer must match. */
const architecture = Architecture.ARM_64;

/** The construct prop a merchant sets where CDK knows no ARN of the extension's layer. */
export const secretsExtensionLayerProp = 'paramsAndSecretsLayerArn';

/**
 * The extension's layer for the stack's region: the ARN given, or the one AWS publishes for the
 * region (CDK's table). Never a template that fails at deploy: a region without a published
 * layer, or a region-agnostic stack (which CDK would resolve from a table of some regions only),
 * stops the synth with a message naming the prop.
 */
export const secretsExtensionFor = (scope: Construct, layerArn: string | undefined): ParamsAndSecretsLayerVersion => {
  if (layerArn !== undefined) {
    if (!Token.isUnresolved(layerArn) && !/^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:layer:[A-Za-z0-9_-]+:\d+$/.test(layerArn)) {
      throw new Error(`${secretsExtensionLayerProp} must be the ARN of a Lambda layer version (arn:aws:lambda:<region>:<account>:layer:<name>:<version>); got ${layerArn}`);
    }
    return ParamsAndSecretsLayerVersion.fromVersionArn(layerArn, secretsExtensionOptions);
  }
  const region = Stack.of(scope).region;
  if (Token.isUnresolved(region)) {
    throw new Error(
      `The AWS Parameters and Secrets Lambda Extension's layer differs per region, and this stack has no region (env.region): ` +
        `give the stack a region, or set ${secretsExtensionLayerProp} to the layer's ARN (arm64) for the region you deploy to ` +
        '(docs/deploy.md, Regions).',
    );
  }
  if (RegionInfo.get(region).paramsAndSecretsLambdaLayerArn(secretsExtensionVersion, architecture.name) === undefined) {
    throw new Error(
      `CDK knows no ARN of the AWS Parameters and Secrets Lambda Extension (arm64) in ${region}: set ${secretsExtensionLayerProp} ` +
        `to the ARN AWS publishes for ${region} (AWS Secrets Manager documentation, "Parameters and Secrets Lambda Extension ARNs"; docs/deploy.md, Regions).`,
    );
  }
  return ParamsAndSecretsLayerVersion.fromVersion(secretsExtensionVersion, secretsExtensionOptions);
};

/**
 * The packaged construct's prebuilt bundles: `dist/bundles/<function id>/index.mjs` (+ `.map`)
 * next to `dist/lib/`, built by `npm run build` with `esbuildOptions` (the bundles
 * test/infra/bundle.test.ts loads), so a merchant's synth runs no esbuild and needs no function
 * source. Running from this repository's sources there is no such folder: each function is then
 * bundled from its source by NodejsFunction, with the same options.
 */
export const prebuiltBundlesDir = fileURLToPath(new URL('../bundles/', import.meta.url));
const projectRoot = fileURLToPath(new URL('../', import.meta.url));

export type KlarnaFunctionProps = {
  /** Handler module relative to the project root (`FunctionDefinition.entry`); it exports `handler`. */
  readonly entry: string;
  /** Everything the function reads at cold start; checked there by functions/shared/config. */
  readonly environment: Readonly<Record<string, string>>;
  readonly timeout?: Duration;
  readonly memorySize?: number;
  /** X-Ray active tracing; off by default. */
  readonly tracing?: boolean;
  readonly logRetention?: RetentionDays;
  /** Concurrency kept for this function alone (and its ceiling); none by default. */
  readonly reservedConcurrentExecutions?: number;
  /**
   * ARNs of the secrets the function reads: it gets the Parameters and Secrets extension and
   * GetSecretValue on these (the one call the extension makes for it; grantRead would add
   * DescribeSecret).
   */
  readonly secretArns?: readonly string[];
  /** The Parameters and Secrets extension's layer (`secretsExtensionFor`); required with `secretArns`. */
  readonly secretsExtension?: ParamsAndSecretsLayerVersion;
};

/**
 * A Lambda function with its own log group and its own role. Children: `Resource` (the
 * function: the prebuilt bundle when packaged, else a NodejsFunction), `Logs`, `Role`.
 */
export class KlarnaFunction extends Construct {
  readonly function: LambdaFunction;
  readonly logGroup: LogGroup;
  readonly role: Role;

  constructor(scope: Construct, id: string, props: KlarnaFunctionProps) {
    super(scope, id);
    // An explicit log group: retention we choose (Lambda's own would keep logs forever), and
    // deleted with the stack, since its contents are operational, not records.
    this.logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // Our own role instead of AWSLambdaBasicExecutionRole (which may create and write to any log
    // group): this one may only write to its own log group, plus what the stack grants.
    this.role = new Role(this, 'Role', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
    this.logGroup.grantWrite(this.role);
    if (props.tracing) {
      Validations.of(this.role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'X-Ray PutTraceSegments/PutTelemetryRecords do not support resource-level permissions; tracing is opt-in.',
      });
    }

    if (props.secretArns?.length && !props.secretsExtension) throw new Error(`${id} reads secrets but was given no secretsExtension`);
    const common = {
      runtime: Runtime.NODEJS_24_X,
      architecture,
      memorySize: props.memorySize ?? callbackMemorySize,
      timeout: props.timeout ?? callbackTimeout,
      role: this.role,
      logGroup: this.logGroup,
      tracing: props.tracing ? Tracing.ACTIVE : Tracing.DISABLED,
      ...(props.reservedConcurrentExecutions !== undefined ? { reservedConcurrentExecutions: props.reservedConcurrentExecutions } : {}),
      // No NODE_OPTIONS=--enable-source-maps: it made every cold start 12-15 % slower (`npm run
      // bench` keeps the comparison), and our logs carry no stack traces to map (describeError
      // in functions/shared/log.ts logs an error's name and message). The .map files still ship
      // for mapping the stack of an init crash by hand; Node reads them only with the flag.
      environment: { ...props.environment },
      ...(props.secretArns?.length && props.secretsExtension ? { paramsAndSecrets: props.secretsExtension } : {}),
    };
    const prebuilt = path.join(prebuiltBundlesDir, id);
    this.function = existsSync(path.join(prebuilt, 'index.mjs'))
      ? new LambdaFunction(this, 'Resource', { ...common, code: Code.fromAsset(prebuilt), handler: 'index.handler' })
      : new NodejsFunction(this, 'Resource', {
          ...common,
          entry: path.join(projectRoot, props.entry),
          handler: 'handler',
          projectRoot,
          depsLockFilePath: path.join(projectRoot, 'package-lock.json'),
          bundling: bundlingOptions,
        });
    if (props.secretArns?.length) {
      this.allow(new PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [...props.secretArns] }));
    }
    Validations.of(this.function).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'Node.js 24, the Active LTS: the runtime this code is bundled for and tested on here (the `node` devDependency runs the tests on Node 24 as well).',
    });
  }

  /** Adds one statement to this function's own policy (and nothing else). */
  allow(statement: PolicyStatement): void {
    this.role.addToPrincipalPolicy(statement);
  }
}
