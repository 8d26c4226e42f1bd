/**
 * The CDK app (`cdk.json` runs it with tsx). Settings come from context: in cdk.json, or
 * `npx cdk deploy -c klarnaIpAllowlist=production -c alarmEmail=ops@example.com`.
 */
import { App, Validations } from 'aws-cdk-lib';
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
const rateLimit = number('apiRateLimit');
const burstLimit = number('apiBurstLimit');
const osmRateLimit = number('osmRateLimit');
const osmBurstLimit = number('osmBurstLimit');
const alarmEmail = text('alarmEmail');
const wafRateLimit = text('wafRateLimit') === 'off' ? 'off' : number('wafRateLimit');
const callbackReservedConcurrency = number('callbackReservedConcurrency');
const denialRateAlarmShare = number('denialRateAlarmShare');

new KlarnaStack(app, text('stackName') ?? 'KlarnaServerless', {
  description: 'Klarna merchant backend: KCO callbacks and On-site messaging',
  klarnaIpAllowlist: allowlist as KlarnaIpAllowlist,
  tracing: text('tracing') === 'true',
  ...(alarmEmail ? { alarmEmail } : {}),
  osm: { region: text('osmRegion'), environment: text('osmEnvironment'), allowedOrigin: text('osmAllowedOrigin'), clientId: text('osmClientId') },
  orderManagement: {
    // Checked by the functions at cold start (KCO_API_PROVIDER, KCO_API_REGION, KCO_API_ENVIRONMENT).
    ...(text('kcoApiProvider') ? { provider: text('kcoApiProvider') as 'kustom' | 'klarna' } : {}),
    ...(text('kcoApiRegion') ? { region: text('kcoApiRegion') as 'eu' | 'na' | 'oc' } : {}),
    ...(text('kcoApiEnvironment') ? { environment: text('kcoApiEnvironment') as 'playground' | 'production' } : {}),
    ...(number('ordersRetentionDays') !== undefined ? { retentionDays: number('ordersRetentionDays') } : {}),
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
  ...(number('rulesHistoryDays') !== undefined ? { rulesHistoryDays: number('rulesHistoryDays') } : {}),
});

// cdk-nag v3 runs as a policy validation plugin: synth fails on any unacknowledged error.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
