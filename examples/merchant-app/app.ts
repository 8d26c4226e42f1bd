/**
 * A merchant's own CDK app using the klarna-serverless package: one stack of theirs holding two
 * instances of the construct (a Swedish and a US store), with cdk-nag's AWS Solutions checks.
 * Node 24 runs this TypeScript as it is (type stripping): `npx cdk synth` needs no build step.
 */
import { App, CfnOutput, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks } from 'cdk-nag';
import { KlarnaCheckoutBackend } from 'klarna-serverless';

const app = new App();
const stack = new Stack(app, 'ShopCheckout', {
  // The extension's layer is per region: synthesize for the region you deploy to.
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION ?? 'eu-north-1' },
});

// The shop's own alarm topic (subscribe your on-call tool to it).
const alarms = new Topic(stack, 'OpsAlarms', { enforceSSL: true });
Validations.of(alarms).acknowledge({
  id: 'AwsSolutions-SNS2',
  reason: 'Alarm notifications carry alarm names and metric values only; CloudWatch cannot publish to a topic encrypted with the AWS-managed key.',
});

const sweden = new KlarnaCheckoutBackend(stack, 'Sweden', {
  alarmTopic: alarms,
  osm: { region: 'eu', environment: 'production', allowedOrigin: 'https://shop.example.se' },
  orderManagement: { provider: 'kustom', environment: 'production' },
});
const usa = new KlarnaCheckoutBackend(stack, 'Usa', {
  alarmTopic: alarms,
  osm: false,
  orderManagement: { provider: 'klarna', region: 'na', environment: 'production' },
  // A test store: its tables and secrets go with it.
  removalPolicy: RemovalPolicy.DESTROY,
});

// The shop's backend writes the rules of single orders (scopes order#<order_id>).
const shopBackend = new Role(stack, 'ShopBackend', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
sweden.grantRulesWrite(shopBackend);
usa.grantRulesWrite(shopBackend);

for (const [store, backend] of [['Sweden', sweden], ['Usa', usa]] as const) {
  new CfnOutput(stack, `${store}ApiUrl`, { value: backend.apiUrl });
  for (const [callback, url] of Object.entries(backend.merchantUrls)) {
    new CfnOutput(stack, `${store}${callback.replace(/(^|_)(\w)/g, (_match, _sep, letter: string) => letter.toUpperCase())}Url`, { value: url });
  }
}

// Synth fails on any unacknowledged AWS Solutions finding.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
