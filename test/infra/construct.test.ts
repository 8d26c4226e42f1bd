/**
 * KlarnaCheckoutBackend as a merchant uses it: inside a stack of their own, twice in one account
 * and region, in any region, with parts left out and their own topic, bus, web ACL and secrets.
 * Bundling is skipped (`aws:cdk:bundling-stacks: []`).
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { App, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { RegionInfo } from 'aws-cdk-lib/region-info';
import { KlarnaCheckoutBackend, type KlarnaCheckoutBackendProps } from '../../lib/klarna-stack.js';
import { functions } from '../../lib/routes.js';

type Json = Record<string, unknown>;
type CfnResource = { Type: string; Properties?: Json; DeletionPolicy?: string; UpdateReplacePolicy?: string };

const cdkContext = (): Json => (JSON.parse(readFileSync(path.join(process.cwd(), 'cdk.json'), 'utf8')) as { context: Json }).context;
const layerOf = (region: string): string | undefined => RegionInfo.get(region).paramsAndSecretsLambdaLayerArn('1.0.103', 'arm64');
const givenLayer = (region: string): string => `arn:aws:lambda:${region}:123456789012:layer:ParamsAndSecretsMirror:3`;

const merchantStack = (stackProps: StackProps = { env: { region: 'eu-north-1' } }): Stack =>
  new Stack(new App({ context: { ...cdkContext(), 'aws:cdk:bundling-stacks': [] } }), 'ShopStack', stackProps);
const resourcesOf = (stack: Stack): Record<string, CfnResource> => Template.fromStack(stack).toJSON().Resources as Record<string, CfnResource>;
const ofType = (resources: Record<string, CfnResource>, type: string): CfnResource[] => Object.values(resources).filter((resource) => resource.Type === type);
const layersOf = (backend: KlarnaCheckoutBackend): unknown[] =>
  [...backend.functions.values()].map((fn) => Stack.of(backend).resolve((fn.function.node.defaultChild as CfnFunction).layers));

describe('two instances in one stack (staging and production, or two stores)', () => {
  const stack = merchantStack();
  const sweden = new KlarnaCheckoutBackend(stack, 'Sweden', { alarmEmail: 'ops@example.com' });
  const usa = new KlarnaCheckoutBackend(stack, 'Usa', { alarmEmail: 'ops@example.com' });
  const resources = resourcesOf(stack);

  it('names no resource: CloudFormation names tables, functions, topics, buses, secrets, queues and log groups', () => {
    const nameProperties = ['TableName', 'FunctionName', 'TopicName', 'Name', 'QueueName', 'LogGroupName', 'RoleName', 'DashboardName', 'AlarmName'];
    for (const resource of Object.values(resources)) {
      // An API's, a model's and a validator's names are labels, not identities; a bus must have a
      // name, which CDK makes from the stack name, the path and a hash (checked below).
      if (['AWS::ApiGateway::RestApi', 'AWS::ApiGateway::Model', 'AWS::ApiGateway::RequestValidator', 'AWS::Events::EventBus'].includes(resource.Type)) continue;
      // A reference to another resource (a permission's FunctionName) names nothing; a literal would.
      for (const name of nameProperties) {
        const value = resource.Properties?.[name];
        expect({ type: resource.Type, [name]: typeof value === 'string' ? value : undefined }).toEqual({ type: resource.Type, [name]: undefined });
      }
    }
    expect(ofType(resources, 'AWS::ApiGateway::RestApi').map((api) => api.Properties?.Name)).toEqual(['ShopStack-Sweden-api', 'ShopStack-Usa-api']);
    expect(ofType(resources, 'AWS::Events::EventBus').map((bus) => bus.Properties?.Name)).toEqual([
      expect.stringMatching(/^ShopStackSwedenOrderEventBus[0-9A-F]{8}$/),
      expect.stringMatching(/^ShopStackUsaOrderEventBus[0-9A-F]{8}$/),
    ]);
  });

  it('gives each its own metrics namespace, derived from the stack name and the construct path', () => {
    expect([sweden.metricsNamespace, usa.metricsNamespace]).toEqual(['KlarnaServerless/ShopStack/Sweden', 'KlarnaServerless/ShopStack/Usa']);
    for (const backend of [sweden, usa]) {
      for (const fn of backend.functions.values()) {
        const env = Stack.of(backend).resolve((fn.function.node.defaultChild as CfnFunction).environment) as { variables: Json };
        expect(env.variables.POWERTOOLS_METRICS_NAMESPACE).toBe(backend.metricsNamespace);
      }
    }
  });

  it("lets each one's alarms and dashboard read only its own namespace", () => {
    const namespaces = ofType(resources, 'AWS::CloudWatch::Alarm').flatMap((alarm) => {
      const own = alarm.Properties?.Namespace as string | undefined;
      const inMath = ((alarm.Properties?.Metrics as Json[] | undefined) ?? []).map((query) => ((query.MetricStat as Json | undefined)?.Metric as Json | undefined)?.Namespace);
      return [own, ...inMath].filter((ns): ns is string => typeof ns === 'string' && ns.startsWith('KlarnaServerless'));
    });
    expect(new Set(namespaces)).toEqual(new Set(['KlarnaServerless/ShopStack/Sweden', 'KlarnaServerless/ShopStack/Usa']));
    const bodies = ofType(resources, 'AWS::CloudWatch::Dashboard').map((dashboard) => JSON.stringify(dashboard.Properties?.DashboardBody));
    expect(bodies).toHaveLength(2);
    expect(bodies.filter((body) => body.includes('KlarnaServerless/ShopStack/Sweden') && !body.includes('KlarnaServerless/ShopStack/Usa'))).toHaveLength(1);
    expect(bodies.filter((body) => body.includes('KlarnaServerless/ShopStack/Usa') && !body.includes('KlarnaServerless/ShopStack/Sweden'))).toHaveLength(1);
  });

  it('takes nothing account-wide: no API Gateway CloudWatch role', () => {
    expect(ofType(resources, 'AWS::ApiGateway::Account')).toEqual([]);
  });

  it('refuses a metrics namespace CloudWatch would refuse', () => {
    expect(() => new KlarnaCheckoutBackend(merchantStack(), 'Bad', { metricsNamespace: 'AWS/Lambda' })).toThrow(/metricsNamespace/);
    expect(() => new KlarnaCheckoutBackend(merchantStack(), 'Bad', { metricsNamespace: 'shop;drop' })).toThrow(/metricsNamespace/);
  });
});

describe('regions: the Parameters and Secrets extension layer', () => {
  it.each(['eu-north-1', 'us-east-1'])('uses the layer AWS publishes in %s, or the ARN given', (region) => {
    const known = layerOf(region);
    expect(known).toMatch(new RegExp(`^arn:aws:lambda:${region}:\\d{12}:layer:AWS-Parameters-and-Secrets-Lambda-Extension-Arm64:\\d+$`));
    const byDefault = new KlarnaCheckoutBackend(merchantStack({ env: { region } }), 'Klarna');
    for (const layers of layersOf(byDefault)) expect(layers).toEqual([known]);
    const given = new KlarnaCheckoutBackend(merchantStack({ env: { region } }), 'Klarna', { paramsAndSecretsLayerArn: givenLayer(region) });
    for (const layers of layersOf(given)) expect(layers).toEqual([givenLayer(region)]);
  });

  it('stops the synth in eu-central-2 (no layer ARN in CDK) with a message naming the prop, and works with it', () => {
    expect(layerOf('eu-central-2')).toBeUndefined();
    expect(() => new KlarnaCheckoutBackend(merchantStack({ env: { region: 'eu-central-2' } }), 'Klarna')).toThrow(/paramsAndSecretsLayerArn.*eu-central-2|eu-central-2.*paramsAndSecretsLayerArn/);
    const given = new KlarnaCheckoutBackend(merchantStack({ env: { region: 'eu-central-2' } }), 'Klarna', { paramsAndSecretsLayerArn: givenLayer('eu-central-2') });
    for (const layers of layersOf(given)) expect(layers).toEqual([givenLayer('eu-central-2')]);
    expect(ofType(resourcesOf(Stack.of(given)), 'AWS::Lambda::Function').length).toBeGreaterThan(0);
  });

  it('never leaves a region-agnostic template to fail at deploy: the prop is required, and then used in every function', () => {
    expect(() => new KlarnaCheckoutBackend(merchantStack({}), 'Klarna')).toThrow(/paramsAndSecretsLayerArn/);
    const given = new KlarnaCheckoutBackend(merchantStack({}), 'Klarna', { paramsAndSecretsLayerArn: givenLayer('ap-south-2') });
    for (const layers of layersOf(given)) expect(layers).toEqual([givenLayer('ap-south-2')]);
    const template = Template.fromStack(Stack.of(given)).toJSON() as { Mappings?: Json };
    // No per-region table whose missing rows would only show at deploy.
    expect(Object.keys(template.Mappings ?? {}).filter((name) => /ParamsAndSecrets|Layer/i.test(name))).toEqual([]);
  });

  it('refuses something that is not a layer version ARN', () => {
    expect(() => new KlarnaCheckoutBackend(merchantStack(), 'Klarna', { paramsAndSecretsLayerArn: 'arn:aws:lambda:eu-north-1:123:layer:x' })).toThrow(/paramsAndSecretsLayerArn/);
  });
});

describe('parts left out', () => {
  it('without OSM: no OSM function, placements table, OSM secret, /osm routes or OSM widgets', () => {
    const backend = new KlarnaCheckoutBackend(merchantStack(), 'Klarna', { osm: false, alarmEmail: 'ops@example.com' });
    expect([...backend.functions.keys()]).not.toContain(functions.osmPlacement);
    expect(backend.placementsTable).toBeUndefined();
    expect(backend.secrets.osmCredentials).toBeUndefined();
    expect(backend.osmBaseUrl).toBeUndefined();
    const resources = resourcesOf(Stack.of(backend));
    expect(ofType(resources, 'AWS::ApiGateway::Resource').map((resource) => resource.Properties?.PathPart)).not.toContain('osm');
    // Rules, orders, the rules history and the order ledger (the shop's commands).
    expect(ofType(resources, 'AWS::DynamoDB::Table')).toHaveLength(4);
    expect(JSON.stringify(ofType(resources, 'AWS::CloudWatch::Dashboard'))).not.toContain('OSM cache hit ratio');
  });

  it('without the order lifecycle: no push or notification routes, orders table, publisher, sweeper or Order Management secret; the rules checker keeps a bus of its own', () => {
    const backend = new KlarnaCheckoutBackend(merchantStack(), 'Klarna', { orderLifecycle: false, alarmEmail: 'ops@example.com' });
    expect(Object.keys(backend.merchantUrls).sort()).toEqual(['address_update', 'country_change', 'shipping_option_update', 'validation']);
    expect([backend.ordersTable === undefined, backend.orders === undefined, backend.secrets.orderManagementCredentials === undefined]).toEqual([true, true, true]);
    expect(backend.commands).toBeUndefined();
    expect([...backend.tables.keys()].map((def) => def.id)).not.toContain('OrderLedgerTable');
    expect(() => backend.grantCommands(new Topic(Stack.of(backend), 'NotAGrantee') as never)).toThrow(/left out/);
    const resources = resourcesOf(Stack.of(backend));
    // The rules events' bus (lib/rules-checker.ts takes any bus; here the construct makes one).
    expect(ofType(resources, 'AWS::Events::EventBus')).toHaveLength(1);
    expect(backend.eventBus?.node.id).toBe('RulesEventBus');
    // The rules table's stream only: the checker.
    expect(ofType(resources, 'AWS::Lambda::EventSourceMapping')).toHaveLength(1);
    // Four callbacks, OSM and the rules checker.
    expect(ofType(resources, 'AWS::Lambda::Function')).toHaveLength(6);
  });
});

describe('bring your own', () => {
  const stack = merchantStack();
  const topic = new Topic(stack, 'CompanyAlarms');
  const bus = new EventBus(stack, 'CompanyBus');
  const tokens = new Secret(stack, 'ExistingTokens');
  const osmCredentials = new Secret(stack, 'ExistingOsm');
  const orderManagementCredentials = new Secret(stack, 'ExistingOrderManagement');
  const webAclArn = 'arn:aws:wafv2:eu-north-1:123456789012:regional/webacl/company/0f0e0d0c-0b0a-0908-0706-050403020100';
  const backend = new KlarnaCheckoutBackend(stack, 'Klarna', {
    alarmTopic: topic,
    eventBus: bus,
    webAcl: { arn: webAclArn },
    secrets: { callbackTokens: tokens, osmCredentials, orderManagementCredentials },
  });
  const resources = resourcesOf(stack);
  const ref = (construct: { node: { defaultChild?: unknown } }): Json => ({ Ref: stack.getLogicalId(construct.node.defaultChild as never) });

  it('sends every alarm to the topic given and creates none', () => {
    expect(ofType(resources, 'AWS::SNS::Topic')).toHaveLength(1);
    for (const alarm of ofType(resources, 'AWS::CloudWatch::Alarm')) expect(alarm.Properties?.AlarmActions).toEqual([ref(topic)]);
    expect(backend.alarmTopic).toBe(topic);
  });

  it('publishes the order events to the bus given and creates none', () => {
    expect(ofType(resources, 'AWS::Events::EventBus')).toHaveLength(1);
    const publisher = backend.orders?.publisher.function.node.defaultChild as CfnFunction;
    expect((stack.resolve(publisher.environment) as { variables: Json }).variables.EVENT_BUS_NAME).toEqual(ref(bus));
  });

  it('puts the web ACL given in front of the stage and creates none', () => {
    expect(ofType(resources, 'AWS::WAFv2::WebACL')).toEqual([]);
    expect(ofType(resources, 'AWS::WAFv2::WebACLAssociation').map((association) => association.Properties?.WebACLArn)).toEqual([webAclArn]);
    const none = new KlarnaCheckoutBackend(merchantStack(), 'Klarna', { webAcl: 'none', alarmEmail: 'ops@example.com' });
    expect(none.webAclArn).toBeUndefined();
    expect(ofType(resourcesOf(Stack.of(none)), 'AWS::WAFv2::WebACLAssociation')).toEqual([]);
  });

  it('reads the secrets given and creates none', () => {
    expect(ofType(resources, 'AWS::SecretsManager::Secret')).toHaveLength(3);
    const env = (stack.resolve((backend.functions.get(functions.orderPush)?.function.node.defaultChild as CfnFunction).environment) as { variables: Json }).variables;
    expect(env.KCO_CALLBACK_TOKENS_SECRET_ARN).toEqual(ref(tokens));
    expect(env.KCO_API_CREDENTIALS_SECRET_ARN).toEqual(ref(orderManagementCredentials));
  });
});

describe('teardown: one removalPolicy for the tables and the secrets', () => {
  const policies = (props: KlarnaCheckoutBackendProps): { tables: (string | undefined)[]; secrets: (string | undefined)[]; protectedTables: unknown[] } => {
    const resources = resourcesOf(Stack.of(new KlarnaCheckoutBackend(merchantStack(), 'Klarna', { alarmEmail: 'ops@example.com', ...props })));
    const records = ofType(resources, 'AWS::DynamoDB::Table').filter((table) => table.Properties?.TimeToLiveSpecification === undefined || (table.Properties.KeySchema as Json[]).length === 1);
    return {
      tables: records.map((table) => table.DeletionPolicy),
      secrets: ofType(resources, 'AWS::SecretsManager::Secret').map((secret) => secret.DeletionPolicy),
      protectedTables: records.map((table) => table.Properties?.DeletionProtectionEnabled),
    };
  };

  it('keeps the rules and orders tables and every secret by default, together', () => {
    expect(policies({})).toEqual({ tables: ['Retain', 'Retain'], secrets: ['Retain', 'Retain', 'Retain', 'Retain'], protectedTables: [true, true] });
  });

  it('deletes them all together with RemovalPolicy.DESTROY (and lifts the tables’ deletion protection)', () => {
    expect(policies({ removalPolicy: RemovalPolicy.DESTROY })).toEqual({
      tables: ['Delete', 'Delete'],
      secrets: ['Delete', 'Delete', 'Delete', 'Delete'],
      protectedTables: [false, false],
    });
  });
});

describe('alarms reach someone', () => {
  const warnings = (props: KlarnaCheckoutBackendProps): unknown[] => {
    const stack = merchantStack();
    const topic = props.alarmTopic === undefined ? {} : { alarmTopic: new Topic(stack, 'Ops') };
    new KlarnaCheckoutBackend(stack, 'Klarna', { ...props, ...topic });
    return Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('alarmEmail'));
  };

  it('warns at synth when the alarms have no destination, and not with alarmEmail or alarmTopic', () => {
    expect(warnings({})).toHaveLength(1);
    expect(warnings({ alarmEmail: 'ops@example.com' })).toEqual([]);
    expect(warnings({ alarmTopic: new Topic(merchantStack(), 'Placeholder') })).toEqual([]);
  });
});

describe('grantRulesWrite', () => {
  it("lets the shop's backend get, put and delete the order scopes of the rules table, and only those", () => {
    const stack = merchantStack();
    const backend = new KlarnaCheckoutBackend(stack, 'Klarna', { alarmEmail: 'ops@example.com' });
    const shop = new Role(stack, 'ShopBackend', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
    backend.grantRulesWrite(shop);
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: stack.getLogicalId(shop.node.defaultChild as never) }],
      PolicyDocument: {
        Statement: [
          {
            Effect: 'Allow',
            Action: ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem'],
            Resource: { 'Fn::GetAtt': [stack.getLogicalId(backend.rulesTable.node.defaultChild as never), 'Arn'] },
            Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['order#*'] } },
          },
        ],
      },
    });
  });
});
