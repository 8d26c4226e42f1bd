/**
 * The CDK app (`cdk.json` runs it with tsx): one stack holding one KlarnaCheckoutBackend (a thin
 * user of the construct, as a merchant's own app would be; examples/ has one outside this repo).
 * Settings come from context: in cdk.json, or
 * `npx cdk deploy -c klarnaIpAllowlist=production -c alarmEmail=ops@example.com`.
 */
import { App, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { KlarnaStack, klarnaIpAllowlistModes, type KlarnaIpAllowlist } from '../lib/klarna-stack.js';

const app = new App();

const text = (key: string): string | undefined => {
  const value: unknown = app.node.tryGetContext(key);
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string' && typeof value !== 'boolean' && typeof value !== 'number') {
    throw new Error(`context ${key} must be a string, number or boolean`);
  }
  return String(value);
};

const allowlist = text('klarnaIpAllowlist') ?? 'off';
if (!(klarnaIpAllowlistModes as readonly string[]).includes(allowlist)) {
  throw new Error(`context klarnaIpAllowlist must be one of ${klarnaIpAllowlistModes.join(', ')}; got ${allowlist}`);
}
const number = (key: string): number | undefined => {
  const value = text(key);
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0) throw new Error(`context ${key} must be a positive number; got ${value}`);
  return parsed;
};
const flag = (key: string, fallback: boolean): boolean => {
  const value = text(key);
  if (value === undefined) return fallback;
  if (value !== 'true' && value !== 'false') throw new Error(`context ${key} must be true or false; got ${value}`);
  return value === 'true';
};
const rateLimit = number('apiRateLimit');
const burstLimit = number('apiBurstLimit');
const osmRateLimit = number('osmRateLimit');
const osmBurstLimit = number('osmBurstLimit');
const alarmEmail = text('alarmEmail');
const wafRateLimit = text('wafRateLimit') === 'off' ? 'off' : number('wafRateLimit');
const callbackReservedConcurrency = number('callbackReservedConcurrency');
const denialRateAlarmShare = number('denialRateAlarmShare');
const removalPolicy = text('removalPolicy');
if (removalPolicy !== undefined && removalPolicy !== 'retain' && removalPolicy !== 'destroy') {
  throw new Error(`context removalPolicy must be retain or destroy; got ${removalPolicy}`);
}
const metricsNamespace = text('metricsNamespace');
const paramsAndSecretsLayerArn = text('paramsAndSecretsLayerArn');
// The region the CDK CLI resolved (AWS_REGION, the profile), or -c region=...: the extension's
// layer is per region, so the stack is synthesized for one.
const region = text('region') ?? process.env.CDK_DEFAULT_REGION;

new KlarnaStack(app, text('stackName') ?? 'KlarnaServerless', {
  description: 'Klarna merchant backend: KCO callbacks and On-site messaging',
  ...(region ? { env: { region, ...(process.env.CDK_DEFAULT_ACCOUNT ? { account: process.env.CDK_DEFAULT_ACCOUNT } : {}) } } : {}),
  klarnaIpAllowlist: allowlist as KlarnaIpAllowlist,
  tracing: text('tracing') === 'true',
  ...(alarmEmail ? { alarmEmail } : {}),
  osm: flag('osm', true)
    ? { region: text('osmRegion'), environment: text('osmEnvironment'), allowedOrigin: text('osmAllowedOrigin'), clientId: text('osmClientId') }
    : false,
  orderLifecycle: flag('orderLifecycle', true),
  orderManagement: {
    // Checked by the functions at cold start (KCO_API_PROVIDER, KCO_API_REGION, KCO_API_ENVIRONMENT).
    ...(text('kcoApiProvider') ? { provider: text('kcoApiProvider') as 'kustom' | 'klarna' } : {}),
    ...(text('kcoApiRegion') ? { region: text('kcoApiRegion') as 'eu' | 'na' | 'oc' } : {}),
    ...(text('kcoApiEnvironment') ? { environment: text('kcoApiEnvironment') as 'playground' | 'production' } : {}),
    ...(number('ordersRetentionDays') !== undefined ? { retentionDays: number('ordersRetentionDays') } : {}),
  },
  orderCommands: {
    ...(number('ordersExpiryWarningDays') !== undefined ? { expiryWarningDays: number('ordersExpiryWarningDays') } : {}),
    autoExtend: flag('ordersAutoExtend', false),
  },
  ...(rateLimit !== undefined || burstLimit !== undefined
    ? { throttling: { rateLimit: rateLimit ?? 50, burstLimit: burstLimit ?? 100 } }
    : {}),
  ...(osmRateLimit !== undefined || osmBurstLimit !== undefined
    ? { osmThrottling: { rateLimit: osmRateLimit ?? 100, burstLimit: osmBurstLimit ?? 200 } }
    : {}),
  ...(wafRateLimit !== undefined ? { wafRateLimit } : {}),
  ...(callbackReservedConcurrency !== undefined ? { callbackReservedConcurrency } : {}),
  ...(denialRateAlarmShare !== undefined ? { denialRateAlarmShare } : {}),
  ...(removalPolicy ? { removalPolicy: removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN } : {}),
  ...(metricsNamespace ? { metricsNamespace } : {}),
  ...(paramsAndSecretsLayerArn ? { paramsAndSecretsLayerArn } : {}),
  // A stack deployed before the construct existed owns the region's API Gateway CloudWatch role;
  // this app keeps it unless told otherwise (a library instance leaves it alone by default).
  apiGatewayCloudWatchRole: flag('apiGatewayCloudWatchRole', true),
  ...(number('rulesHistoryDays') !== undefined ? { rulesHistoryDays: number('rulesHistoryDays') } : {}),
});

// cdk-nag v3 runs as a policy validation plugin: synth fails on any unacknowledged error.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
