/**
 * cdk-nag's AWS Solutions pack over the whole stack: no unacknowledged error or warning, and
 * every acknowledgement sits on a resource (never the stack or the app) with a reason.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Annotations, App, Stack, Validations, type PolicyViolation } from 'aws-cdk-lib';
import { AttributeType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { KlarnaStack, alarmsWithoutDestinationWarning, type KlarnaStackProps } from '../../lib/klarna-stack.js';

const cdkContext = (): Record<string, unknown> =>
  (JSON.parse(readFileSync(path.join(process.cwd(), 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }).context;

const build = (props: KlarnaStackProps = {}): { app: App; stack: KlarnaStack } => {
  const app = new App({ context: { ...cdkContext(), 'aws:cdk:bundling-stacks': [] } });
  const stack = new KlarnaStack(app, 'NagTest', { env: { region: 'eu-north-1' }, ...props });
  Annotations.of(stack.backend).acknowledgeWarning(alarmsWithoutDestinationWarning, 'a test stack alerts nobody');
  return { app, stack };
};

const describeViolations = (violations: readonly PolicyViolation[]): string[] =>
  violations.flatMap((violation) =>
    violation.violatingResources.map(
      (resource) => `${violation.severity} ${violation.ruleName} at ${resource.constructPath ?? '?'}: ${violation.description}`,
    ),
  );

type Acknowledgement = { readonly path: string; readonly id: string; readonly reason: string };

const acknowledgementsIn = (root: IConstruct): Acknowledgement[] =>
  root.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({
          path: construct.node.path,
          id: id.replace(/^annotation::/i, ''),
          reason,
        })),
      ),
  );

describe('cdk-nag AwsSolutionsChecks', () => {
  const { app, stack } = build();
  const report = new AwsSolutionsChecks().validateScope(stack);

  it('finds no unacknowledged error or warning in the default stack', () => {
    expect(describeViolations(report.violations)).toEqual([]);
    expect(report.success).toBe(true);
  });

  it('finds none either with the IP allowlist, X-Ray tracing and reserved concurrency on', () => {
    const other = build({ klarnaIpAllowlist: 'both', tracing: true, alarmEmail: 'ops@example.com', callbackReservedConcurrency: 5 });
    const otherReport = new AwsSolutionsChecks().validateScope(other.stack);
    expect(describeViolations(otherReport.violations)).toEqual([]);
  });

  it('finds none with WAF off, acknowledging the missing web ACL on the stage alone', () => {
    const other = build({ wafRateLimit: 'off' });
    const otherReport = new AwsSolutionsChecks().validateScope(other.stack);
    expect(describeViolations(otherReport.violations)).toEqual([]);
    const onApig3 = acknowledgementsIn(other.app).filter(({ id }) => id === 'AwsSolutions-APIG3');
    expect(onApig3.map(({ path }) => path)).toEqual([`${other.stack.backend.node.path}/Api/DeploymentStage.live`]);
  });

  it('finds none with parts left out, the merchant\'s own web ACL, or the API Gateway CloudWatch role, acknowledging no missing web ACL', () => {
    for (const props of [
      { osm: false as const, orderLifecycle: false },
      { webAcl: { arn: 'arn:aws:wafv2:eu-north-1:123456789012:regional/webacl/shop/0f0e0d0c-0b0a-0908-0706-050403020100' } },
      { apiGatewayCloudWatchRole: true },
    ]) {
      const other = build(props);
      expect(describeViolations(new AwsSolutionsChecks().validateScope(other.stack).violations)).toEqual([]);
      if ('webAcl' in props) expect(acknowledgementsIn(other.app).filter(({ id }) => id === 'AwsSolutions-APIG3')).toEqual([]);
    }
  });

  it('acknowledges rules only on resources inside the stack, never on the app or the stack itself', () => {
    const acknowledgements = acknowledgementsIn(app);
    expect(acknowledgements.length).toBeGreaterThan(0);
    for (const { path: constructPath } of acknowledgements) {
      expect(constructPath.startsWith(`${stack.node.path}/`)).toBe(true);
    }
  });

  it('gives every acknowledgement a reason that explains itself, not a restatement of the rule', () => {
    for (const { id, reason } of acknowledgementsIn(app)) {
      expect({ id, long: reason.length > 80 }).toEqual({ id, long: true });
    }
  });

  it('lets the app synthesize with the checks registered as bin/app.ts registers them', () => {
    const outdir = mkdtempSync(path.join(tmpdir(), 'klarna-nag-'));
    try {
      const synthApp = new App({ outdir, context: { ...cdkContext(), 'aws:cdk:bundling-stacks': [] } });
      const synthStack = new KlarnaStack(synthApp, 'NagSynth', { env: { region: 'eu-north-1' } });
      Annotations.of(synthStack.backend).acknowledgeWarning(alarmsWithoutDestinationWarning, 'a test stack alerts nobody');
      Validations.of(synthApp).addPlugins(new AwsSolutionsChecks(synthApp));
      // Any unacknowledged finding, warning or error, fails synthesis.
      expect(() => synthApp.synth()).not.toThrow();
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });

  it('does report findings in this setup (the checks are not silently inert)', () => {
    const probe = new Stack(new App(), 'Probe');
    new Table(probe, 'Unprotected', { partitionKey: { name: 'k', type: AttributeType.STRING } });
    const rules = new AwsSolutionsChecks().validateScope(probe).violations.map((violation) => violation.ruleName);
    expect(rules).toContain('AwsSolutions-DDB3');
  });

  it('acknowledges exactly the rules that cannot be met here, and where', () => {
    const byRule = new Map<string, string[]>();
    for (const { path: constructPath, id } of acknowledgementsIn(app)) {
      const relative = constructPath.slice(stack.backend.node.path.length + 1);
      byRule.set(id, [...(byRule.get(id) ?? []), relative].sort());
    }
    const methods = [
      'Api/Default/kco/orders/{order_id}/address_update/POST',
      'Api/Default/kco/orders/{order_id}/country_change/POST',
      'Api/Default/kco/orders/{order_id}/notification/POST',
      'Api/Default/kco/orders/{order_id}/push/POST',
      'Api/Default/kco/orders/{order_id}/shipping_option_update/POST',
      'Api/Default/kco/orders/{order_id}/validation/POST',
      'Api/Default/osm/impressions/POST',
      'Api/Default/osm/placements/{placement_key}/GET',
    ].sort();
    // The shop's command routes are IAM-authorized: only COG4 (no user pool) is acknowledged.
    const commandMethods = [
      'Api/Default/orders/{order_id}/GET',
      'Api/Default/orders/{order_id}/cancel/POST',
      'Api/Default/orders/{order_id}/captures/POST',
      'Api/Default/orders/{order_id}/captures/{capture_id}/shipping-info/POST',
      'Api/Default/orders/{order_id}/extend/POST',
      'Api/Default/orders/{order_id}/refunds/POST',
      'Api/Default/orders/{order_id}/release/POST',
    ];
    expect(Object.fromEntries(byRule)).toEqual({
      'AwsSolutions-APIG4': methods,
      'AwsSolutions-COG4': [...methods, ...commandMethods].sort(),
      'AwsSolutions-DDB3': ['PlacementsTable'],
      'AwsSolutions-SMG4': ['KcoCallbackTokenSeed', 'KcoCallbackTokens', 'OrderManagementCredentials', 'OsmCredentials'],
      'AwsSolutions-SNS2': ['AlarmTopic'],
      'AwsSolutions-IAM5[Resource::*]': ['OrderCommands/OrderCommandEventsPublisherFunction/Role', 'OrderEventsPublisherFunction/Role', 'RulesChecker/RulesCheckerFunction/Role'],
      'AwsSolutions-SQS3': ['OrderCommands/CommandEventsFailedQueue', 'OrderCommands/FailedCommandsQueue', 'OrderEventsFailedQueue', 'OrderEventsRefusedQueue', 'RulesChecker/FailedQueue'],
      'AwsSolutions-L1': [
        'AddressUpdateFunction/Resource',
        'CountryChangeFunction/Resource',
        'OrderCommands/OrderCommandEventsFunction/Resource',
        'OrderCommands/OrderCommandEventsPublisherFunction/Resource',
        'OrderCommands/OrderCommandsFunction/Resource',
        'OrderCommands/OrderExpirySweepFunction/Resource',
        'OrderEventsPublisherFunction/Resource',
        'OrderNotificationFunction/Resource',
        'OrderPushFunction/Resource',
        'OrderSweeperFunction/Resource',
        'OsmPlacementFunction/Resource',
        'RulesChecker/RulesCheckerFunction/Resource',
        'ShippingOptionUpdateFunction/Resource',
        'ValidationFunction/Resource',
      ],
    });
  });
});
