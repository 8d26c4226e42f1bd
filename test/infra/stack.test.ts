/**
 * The synthesized CloudFormation template, checked against the route and table definitions it is
 * built from. Bundling is skipped (`aws:cdk:bundling-stacks: []`); the template is built once.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Annotations, App, Stack, type CfnElement } from 'aws-cdk-lib';
import { CfnRestApi } from 'aws-cdk-lib/aws-apigateway';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { KlarnaStack, alarmsWithoutDestinationWarning, klarnaCallbackIps, type KlarnaStackProps } from '../../lib/klarna-stack.js';
import { failClosedReasons } from '../../functions/shared/metrics.js';
import { commandRoutes, functions, kcoCallbacks, routes, type FunctionDefinition } from '../../lib/routes.js';
import { placementsTable, rulesTable, tables } from '../../lib/tables.js';

type Json = Record<string, unknown>;
type CfnResource = { Type: string; Properties?: Json; DeletionPolicy?: string; UpdateReplacePolicy?: string };

const cdkContext = (): Json =>
  (JSON.parse(readFileSync(path.join(process.cwd(), 'cdk.json'), 'utf8')) as { context: Json }).context;

/** The extension's layer as a merchant gives it for a region-agnostic stack (the default test stack). */
const givenLayerArn = 'arn:aws:lambda:eu-north-1:427196147048:layer:AWS-Parameters-and-Secrets-Lambda-Extension-Arm64:1';

const buildStack = (props: KlarnaStackProps = {}): KlarnaStack => {
  const app = new App({ context: { ...cdkContext(), 'aws:cdk:bundling-stacks': [] } });
  // Alarms without a destination are test/infra/construct.test.ts's subject; here they are expected.
  const stack = new KlarnaStack(app, 'TestStack', { paramsAndSecretsLayerArn: givenLayerArn, ...props });
  Annotations.of(stack.backend).acknowledgeWarning(alarmsWithoutDestinationWarning, 'a test stack alerts nobody');
  return stack;
};

const allFunctions: readonly FunctionDefinition[] = Object.values(functions);
const callbackFunctions: ReadonlySet<FunctionDefinition> = new Set(kcoCallbacks.map(({ fn }) => fn));
const callbackRoutes = routes.filter((route) => callbackFunctions.has(route.fn));

let stack: KlarnaStack;
let template: Template;
let resources: Record<string, CfnResource>;

beforeAll(() => {
  stack = buildStack();
  template = Template.fromStack(stack);
  resources = template.toJSON().Resources as Record<string, CfnResource>;
});

const logicalId = (construct: IConstruct): string => stack.getLogicalId(construct.node.defaultChild as CfnElement);
const fnLogicalId = (def: FunctionDefinition): string => {
  const fn = stack.functions.get(def);
  if (!fn) throw new Error(`no function for ${def.id}`);
  return logicalId(fn.function);
};
const tableLogicalId = (id: string): string => {
  const def = tables.find((table) => table.id === id);
  const table = def && stack.tables.get(def);
  if (!table) throw new Error(`no table ${id}`);
  return logicalId(table);
};
const secretLogicalId = (id: string): string => logicalId(stack.backend.node.findChild(id));
const ofType = (type: string): [string, CfnResource][] =>
  Object.entries(resources).filter(([, resource]) => resource.Type === type);
const props = (id: string): Json => {
  const resource = resources[id];
  if (!resource) throw new Error(`no resource ${id}`);
  return resource.Properties ?? {};
};

/** The path of an AWS::ApiGateway::Resource, read by walking its parents up to the root. */
const resourcePath = (id: string): string => {
  const { ParentId, PathPart } = props(id) as { ParentId: Json; PathPart: string };
  const parent = ParentId.Ref as string | undefined;
  return parent === undefined ? `/${PathPart}` : `${resourcePath(parent)}/${PathPart}`;
};

const integrationTarget = (method: Json): string | undefined => {
  const uri = (method.Integration as { Uri: { 'Fn::Join': [string, unknown[]] } }).Uri['Fn::Join'][1];
  const getAtt = uri.find((part): part is { 'Fn::GetAtt': [string, string] } => typeof part === 'object' && part !== null && 'Fn::GetAtt' in part);
  return getAtt?.['Fn::GetAtt'][0];
};

describe('upgrade from the stack before the construct', () => {
  it('keeps the logical ids (and the bus name) of what holds data or is wired to Klarna, so a deployed stack updates in place', () => {
    // Read from a synth of the commit before KlarnaCheckoutBackend: KlarnaStack holds the
    // construct as `Default`, which logical ids leave out.
    const app = new App({ context: { ...cdkContext(), 'aws:cdk:bundling-stacks': [] } });
    const upgraded = new KlarnaStack(app, 'KlarnaServerless', { env: { region: 'eu-north-1' }, apiGatewayCloudWatchRole: true });
    Annotations.of(upgraded.backend).acknowledgeWarning(alarmsWithoutDestinationWarning, 'a test stack alerts nobody');
    const found = Template.fromStack(upgraded).toJSON().Resources as Record<string, CfnResource>;
    for (const id of [
      'RulesTable75E600CF',
      'OrdersTable315BB997',
      'PlacementsTableFB2E1A46',
      'KcoCallbackTokenSeed83EED9C5',
      'KcoCallbackTokensA4405498',
      'OsmCredentials0AD1FEC3',
      'OrderManagementCredentialsC0F75296',
      'OrderEventBus8DA2948A',
      'AlarmTopicD01E77F9',
      'Dashboard9E4231ED',
      'ApiF70053CD',
      'EdgeProtectionWebAcl31BCF916',
    ]) {
      expect({ id, exists: found[id] !== undefined }).toEqual({ id, exists: true });
    }
    expect(found.OrderEventBus8DA2948A?.Properties?.Name).toBe('KlarnaServerlessOrderEventBusE9A364C3');
    expect(Object.values(found).filter((resource) => resource.Type === 'AWS::ApiGateway::Account')).toHaveLength(1);
  });
});

describe('routes', () => {
  it('creates exactly one API method per route in lib/routes.ts', () => {
    const methods = ofType('AWS::ApiGateway::Method').map(([, method]) => {
      const properties = method.Properties ?? {};
      return `${properties.HttpMethod as string} ${resourcePath((properties.ResourceId as Json).Ref as string)}`;
    });
    // The command routes (IAM-authorized) are built by lib/order-commands.ts (test/infra/order-commands.test.ts).
    expect(methods.sort()).toEqual([...routes, ...commandRoutes].map((route) => `${route.method} ${route.path}`).sort());
  });

  it.each(routes.map((route) => [`${route.method} ${route.path}`, route] as const))(
    '%s is a Lambda proxy integration to its own function',
    (_name, route) => {
      const [methodId, method] = ofType('AWS::ApiGateway::Method').find(
        ([, candidate]) =>
          candidate.Properties?.HttpMethod === route.method &&
          resourcePath((candidate.Properties.ResourceId as Json).Ref as string) === route.path,
      ) ?? ['', undefined];
      expect(method).toBeDefined();
      expect(method?.Properties).toMatchObject({
        AuthorizationType: 'NONE',
        Integration: { Type: 'AWS_PROXY', IntegrationHttpMethod: 'POST' },
      });
      expect(integrationTarget(method?.Properties ?? {})).toBe(fnLogicalId(route.fn));
      const pathParameters = [...route.path.matchAll(/\{([^}]+)\}/g)].map((match) => `method.request.path.${match[1]}`);
      const expectedParameters = Object.fromEntries(
        [...pathParameters, ...(callbackFunctions.has(route.fn) || route.fn.orderManagement ? ['method.request.querystring.token'] : [])].map((name) => [
          name,
          true,
        ]),
      );
      expect(props(methodId).RequestParameters).toEqual(expectedParameters);
    },
  );

  it('lets API Gateway invoke each function only for its own routes', () => {
    for (const def of allFunctions) {
      const sourceArns = ofType('AWS::Lambda::Permission')
        .filter(([, permission]) => (permission.Properties?.FunctionName as Json)['Fn::GetAtt'] !== undefined)
        .filter(([, permission]) => ((permission.Properties?.FunctionName as Json)['Fn::GetAtt'] as string[])[0] === fnLogicalId(def))
        .map(([, permission]) => {
          const parts = ((permission.Properties?.SourceArn as Json)['Fn::Join'] as [string, unknown[]])[1];
          return parts.at(-1) as string;
        });
      const expected = routes
        .filter((route) => route.fn === def)
        .map((route) => `/${route.method}${route.path.replace(/\{[^}]+\}/g, '*')}`);
      expect(sourceArns.sort()).toEqual(expected.sort());
      for (const [, permission] of ofType('AWS::Lambda::Permission')) {
        // The other invokers: the order sweeper's schedule (test/infra/orders.test.ts) and the
        // command events' rule (test/infra/order-commands.test.ts).
        const invoked = ((permission.Properties?.FunctionName as Json)['Fn::GetAtt'] as string[])[0];
        if ([stack.orders.sweeper, stack.commands.eventFunction, stack.commands.expirySweep].some((fn) => invoked === logicalId(fn.function))) continue;
        expect(permission.Properties?.Principal).toBe('apigateway.amazonaws.com');
      }
    }
  });

  it('validates the callback bodies as JSON objects and requires the token before a Lambda runs', () => {
    template.hasResourceProperties('AWS::ApiGateway::RequestValidator', {
      ValidateRequestBody: true,
      ValidateRequestParameters: true,
    });
    template.hasResourceProperties('AWS::ApiGateway::Model', {
      ContentType: 'application/json',
      Schema: Match.objectLike({ type: 'object' }),
    });
    const withModel = ofType('AWS::ApiGateway::Method')
      .filter(([, method]) => method.Properties?.RequestModels !== undefined)
      .map(([, method]) => resourcePath((method.Properties?.ResourceId as Json).Ref as string));
    expect(withModel.sort()).toEqual(callbackRoutes.map((route) => route.path).sort());
  });

  it('answers its own refusals in the functions’ shapes: 401 {error} without token, Klarna’s 400 for a non-object body', () => {
    template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'BAD_REQUEST_PARAMETERS',
      StatusCode: '401',
      ResponseTemplates: { 'application/json': JSON.stringify({ error: 'Missing or invalid callback token.' }) },
    });
    template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'BAD_REQUEST_BODY',
      StatusCode: '400',
      ResponseTemplates: {
        'application/json': JSON.stringify({ error_type: 'approval_failed', error_text: 'The request body must be a JSON order sent as application/json.' }),
      },
    });
  });
});

// The extension's settings (lib/klarna-function.ts) as CDK writes them: its cache off (the
// functions cache each secret themselves), its Secrets Manager call bounded like ours.
const secretsExtensionEnvironment = {
  PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED: 'false',
  PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE: '1000',
  PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: '2773',
  PARAMETERS_SECRETS_EXTENSION_LOG_LEVEL: 'warn',
  PARAMETERS_SECRETS_EXTENSION_MAX_CONNECTIONS: '3',
  SECRETS_MANAGER_TIMEOUT_MILLIS: '700',
  SECRETS_MANAGER_TTL: '300',
  SSM_PARAMETER_STORE_TIMEOUT_MILLIS: '0',
  SSM_PARAMETER_STORE_TTL: '300',
};

describe('functions', () => {
  it('creates one Lambda per function definition and no other', () => {
    const lifecycle = [stack.orders.publisher, stack.orders.sweeper, stack.rulesChecker.checker, stack.commands.commandFunction, stack.commands.eventFunction, stack.commands.publisher, stack.commands.expirySweep].map((fn) => logicalId(fn.function));
    expect(ofType('AWS::Lambda::Function').map(([id]) => id).sort()).toEqual([...allFunctions.map(fnLogicalId), ...lifecycle].sort());
  });

  it.each(allFunctions.map((def) => [def.id, def] as const))('%s: runtime, architecture, memory, timeout, environment', (_id, def) => {
    const properties = props(fnLogicalId(def));
    const secretEnv =
      def.secret === 'callbackTokens'
        ? { KCO_CALLBACK_TOKENS_SECRET_ARN: { Ref: secretLogicalId('KcoCallbackTokens') } }
        : { OSM_CREDENTIALS_SECRET_ARN: { Ref: secretLogicalId('OsmCredentials') } };
    expect(properties).toMatchObject({
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      MemorySize: 1024,
      // Callbacks: Klarna's 3 s budget; OSM: its client's 2.5 s limit plus a cold start; push and
      // notification: Klarna's Order Management calls with retries (8 s) plus a cold start.
      Timeout: callbackFunctions.has(def) ? 3 : def.orderManagement ? 10 : 5,
    });
    expect(properties.FunctionName).toBeUndefined();
    expect(properties.TracingConfig).toBeUndefined();
    expect((properties.Environment as { Variables: Json }).Variables).toEqual({
      ...Object.fromEntries(def.tables.map(({ table }) => [table.envVar, { Ref: tableLogicalId(table.id) }])),
      ...secretEnv,
      ...secretsExtensionEnvironment,
      // The instance's own metrics namespace, derived from the stack name and the construct path.
      POWERTOOLS_METRICS_NAMESPACE: 'KlarnaServerless/TestStack',
      ...(def.orderManagement ? { KCO_API_CREDENTIALS_SECRET_ARN: { Ref: secretLogicalId('OrderManagementCredentials') } } : {}),
    });
  });

  it.each(allFunctions.map((def) => [def.id, def] as const))(
    '%s has the AWS Parameters and Secrets Lambda Extension layer given (paramsAndSecretsLayerArn) as its one layer',
    (_id, def) => {
      expect(props(fnLogicalId(def)).Layers).toEqual([givenLayerArn]);
    },
  );

  it.each(allFunctions.map((def) => [def.id, def] as const))('%s logs to its own log group, kept one month', (_id, def) => {
    const logGroupId = ((props(fnLogicalId(def)).LoggingConfig as Json).LogGroup as Json).Ref as string;
    expect(resources[logGroupId]).toMatchObject({
      Type: 'AWS::Logs::LogGroup',
      Properties: { RetentionInDays: 30 },
      DeletionPolicy: 'Delete',
    });
    expect(props(logGroupId).LogGroupName).toBeUndefined();
  });
});

describe('least privilege', () => {
  const statementsOf = (def: FunctionDefinition): Json[] => {
    const roleId = ((props(fnLogicalId(def)).Role as Json)['Fn::GetAtt'] as string[])[0];
    const policies = ofType('AWS::IAM::Policy').filter(([, policy]) =>
      (policy.Properties?.Roles as Json[]).some((role) => role.Ref === roleId),
    );
    expect(policies).toHaveLength(1);
    expect(props(roleId ?? '').ManagedPolicyArns).toBeUndefined();
    return ((policies[0]?.[1].Properties?.PolicyDocument as Json).Statement as Json[]).map((statement) => ({
      ...statement,
      Action: [statement.Action].flat().sort(),
    }));
  };
  const logStatement = (def: FunctionDefinition): Json => {
    const logGroupId = ((props(fnLogicalId(def)).LoggingConfig as Json).LogGroup as Json).Ref as string;
    return {
      Effect: 'Allow',
      Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      Resource: { 'Fn::GetAtt': [logGroupId, 'Arn'] },
    };
  };
  const secretStatement = (secretId: string): Json => ({
    Effect: 'Allow',
    Action: ['secretsmanager:GetSecretValue'],
    Resource: { Ref: secretLogicalId(secretId) },
  });

  it.each(allFunctions.filter((def) => callbackFunctions.has(def)).map((def) => [def.id, def] as const))(
    '%s may only BatchGetItem the rules table (the rules store’s one call), GetSecretValue the callback tokens and write its logs',
    (_id, def) => {
      expect(statementsOf(def)).toEqual([
        logStatement(def),
        secretStatement('KcoCallbackTokens'),
        {
          Effect: 'Allow',
          Action: ['dynamodb:BatchGetItem'],
          Resource: { 'Fn::GetAtt': [tableLogicalId(rulesTable.id), 'Arn'] },
        },
      ]);
    },
  );

  it('the OSM function may only get, put and delete items of the placements table (what its code calls), read the OSM credentials and write its logs', () => {
    expect(statementsOf(functions.osmPlacement)).toEqual([
      logStatement(functions.osmPlacement),
      secretStatement('OsmCredentials'),
      {
        Effect: 'Allow',
        // The item calls of functions/osm/store.ts and nothing else: no UpdateItem, no BatchGetItem.
        Action: ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem'],
        Resource: { 'Fn::GetAtt': [tableLogicalId(placementsTable.id), 'Arn'] },
      },
    ]);
  });

  it('grants no wildcard action and no "*" resource anywhere', () => {
    for (const [id, policy] of ofType('AWS::IAM::Policy')) {
      for (const statement of (policy.Properties?.PolicyDocument as Json).Statement as Json[]) {
        expect({ id, actions: [statement.Action].flat().filter((action) => String(action).includes('*')) }).toEqual({ id, actions: [] });
        // dynamodb:ListStreams has no resource-level permission (the orders stream trigger needs it).
        if ([statement.Action].flat().join() === 'dynamodb:ListStreams') continue;
        expect({ id, resources: [statement.Resource].flat().filter((resource) => resource === '*') }).toEqual({ id, resources: [] });
      }
    }
  });

  it('creates no account-wide API Gateway CloudWatch role unless asked, and then uses an AWS managed policy only for it', () => {
    expect(ofType('AWS::ApiGateway::Account')).toEqual([]);
    expect(ofType('AWS::IAM::Role').filter(([, role]) => role.Properties?.ManagedPolicyArns !== undefined)).toEqual([]);
    const withRole = Template.fromStack(buildStack({ apiGatewayCloudWatchRole: true })).toJSON().Resources as Record<string, CfnResource>;
    expect(Object.values(withRole).filter((resource) => resource.Type === 'AWS::ApiGateway::Account')).toHaveLength(1);
    const withManaged = Object.entries(withRole).filter(([, role]) => role.Type === 'AWS::IAM::Role' && role.Properties?.ManagedPolicyArns !== undefined);
    expect(withManaged).toHaveLength(1);
    expect(JSON.stringify(withManaged[0]?.[1].Properties?.ManagedPolicyArns)).toContain('AmazonAPIGatewayPushToCloudWatchLogs');
    expect(withManaged[0]?.[1].Properties?.AssumeRolePolicyDocument).toMatchObject({
      Statement: [{ Principal: { Service: 'apigateway.amazonaws.com' } }],
    });
  });
});

describe('tables', () => {
  const keySchema = (def: (typeof tables)[number]): Json[] => [
    { AttributeName: def.partitionKey.name, KeyType: 'HASH' },
    ...(def.sortKey ? [{ AttributeName: def.sortKey.name, KeyType: 'RANGE' }] : []),
  ];

  it('creates exactly the tables of lib/tables.ts, on demand, with their keys and no physical names', () => {
    expect(ofType('AWS::DynamoDB::Table')).toHaveLength(tables.length);
    for (const def of tables) {
      const properties = props(tableLogicalId(def.id));
      expect(properties).toMatchObject({ BillingMode: 'PAY_PER_REQUEST', KeySchema: keySchema(def) });
      expect(properties.TableName).toBeUndefined();
    }
  });

  it('keeps the rules table: point-in-time recovery, deletion protection, retained on stack delete', () => {
    expect(resources[tableLogicalId(rulesTable.id)]).toMatchObject({
      Properties: {
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        DeletionProtectionEnabled: true,
        AttributeDefinitions: [{ AttributeName: rulesTable.partitionKey.name, AttributeType: rulesTable.partitionKey.type }],
      },
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
    expect(props(tableLogicalId(rulesTable.id)).TimeToLiveSpecification).toBeUndefined();
  });

  it('expires placement cache items by the TTL attribute of the definition', () => {
    expect(props(tableLogicalId(placementsTable.id))).toMatchObject({
      TimeToLiveSpecification: { AttributeName: placementsTable.timeToLiveAttribute, Enabled: true },
    });
  });
});

describe('secrets', () => {
  it('generates the first callback token into {"tokens": [...]} without writing it into the template', () => {
    const secretString = props(secretLogicalId('KcoCallbackTokens')).SecretString as Json;
    expect(secretString).toEqual({
      'Fn::Join': [
        '',
        ['{"tokens":["{{resolve:secretsmanager:', { Ref: secretLogicalId('KcoCallbackTokenSeed') }, ':SecretString:::}}"]}'],
      ],
    });
    expect(props(secretLogicalId('KcoCallbackTokenSeed')).GenerateSecretString).toMatchObject({
      ExcludePunctuation: true,
      PasswordLength: 48,
    });
  });

  it('creates the OSM credentials secret with empty client_id, username and password', () => {
    expect(JSON.parse(props(secretLogicalId('OsmCredentials')).SecretString as string)).toEqual({
      client_id: '',
      username: '',
      password: '',
    });
  });

  it('gives no secret a physical name', () => {
    for (const [, secret] of ofType('AWS::SecretsManager::Secret')) expect(secret.Properties?.Name).toBeUndefined();
  });
});

describe('API stage', () => {
  const stage = (): Json => props(ofType('AWS::ApiGateway::Stage')[0]?.[0] ?? '');

  it('is a regional API requiring TLS 1.2, without a resource policy by default', () => {
    const api = props(logicalId(stack.api));
    expect(api).toMatchObject({ EndpointConfiguration: { Types: ['REGIONAL'] }, SecurityPolicy: 'TLS_1_2' });
    expect(api.Policy).toBeUndefined();
  });

  it('throttles every method on its own (callbacks 50/s, OSM 100/s) and logs execution errors without request data', () => {
    expect(stage().MethodSettings).toEqual(
      expect.arrayContaining([
        {
          HttpMethod: '*',
          ResourcePath: '/*',
          ThrottlingRateLimit: 50,
          ThrottlingBurstLimit: 100,
          LoggingLevel: 'ERROR',
          DataTraceEnabled: false,
          MetricsEnabled: false,
        },
      ]),
    );
    const osmPaths = routes.filter((route) => !callbackFunctions.has(route.fn)).map((route) => `${route.method} /${route.path.replaceAll('/', '~1')}`);
    for (const setting of stage().MethodSettings as Json[]) {
      const method = `${setting.HttpMethod as string} ${setting.ResourcePath as string}`;
      const [rate, burst] = osmPaths.includes(method) ? [100, 200] : [50, 100];
      expect({ method, setting }).toMatchObject({ method, setting: { ThrottlingRateLimit: rate, ThrottlingBurstLimit: burst, DataTraceEnabled: false } });
    }
    // Every route has its own setting, so each method keeps its own bucket.
    expect((stage().MethodSettings as Json[]).length).toBe(routes.length + 1);
  });

  it('enables detailed metrics on the four callback methods only (for the p99 alarms)', () => {
    const detailed = (stage().MethodSettings as Json[]).filter((setting) => setting.MetricsEnabled === true);
    // API Gateway's encoding of a resource path in method settings: `/` + the path with `/` as `~1`.
    expect(detailed.map((setting) => `${setting.HttpMethod as string} ${setting.ResourcePath as string}`).sort()).toEqual(
      callbackRoutes.map((route) => `${route.method} /${route.path.replaceAll('/', '~1')}`).sort(),
    );
  });

  it('writes JSON access logs with the resource path template, never the query string, source IP or user agent', () => {
    const accessLog = stage().AccessLogSetting as { Format: string; DestinationArn: unknown };
    const fields = JSON.parse(accessLog.Format) as Record<string, string>;
    expect(fields).toMatchObject({
      requestId: '$context.requestId',
      httpMethod: '$context.httpMethod',
      resourcePath: '$context.resourcePath',
      status: '$context.status',
      responseLatency: '$context.responseLatency',
    });
    const values = Object.values(fields).join(' ');
    for (const forbidden of ['$context.path', '$context.identity', 'querystring', '$input', '$context.authorizer']) {
      expect(values).not.toContain(forbidden);
    }
    expect(JSON.stringify(accessLog.DestinationArn)).toContain(logicalId(stack.backend.node.findChild('ApiAccessLogs')));
  });
});

describe('Klarna IP allowlist', () => {
  const policyFor = (mode: 'production' | 'playground' | 'both'): { Statement: Json[] } => {
    const other = buildStack({ klarnaIpAllowlist: mode });
    return other.resolve((other.api.node.defaultChild as CfnRestApi).policy) as { Statement: Json[] };
  };
  const cidrs = (ips: readonly string[]): string[] => ips.map((ip) => `${ip}/32`);

  it('denies the callback paths, and only them, to addresses outside Klarna production', () => {
    const { Statement } = policyFor('production');
    expect(Statement).toEqual([
      { Effect: 'Allow', Principal: { AWS: '*' }, Action: 'execute-api:Invoke', Resource: 'execute-api:/*' },
      {
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: 'execute-api:Invoke',
        Resource: callbackRoutes.map((route) => `execute-api:/*/POST${route.path.replace('{order_id}', '*')}`),
        Condition: { NotIpAddress: { 'aws:SourceIp': cidrs(klarnaCallbackIps.production) } },
      },
      // The IAM-authorized command routes: never to principals of another account.
      {
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: 'execute-api:Invoke',
        Resource: commandRoutes.map((route) => `execute-api:/*/${route.method}${route.path.replace(/\{[^}]+\}/g, '*')}`).sort(),
        Condition: { StringNotEquals: { 'aws:PrincipalAccount': { Ref: 'AWS::AccountId' } } },
      },
    ]);
    expect(JSON.stringify(Statement)).not.toContain('/osm');
  });

  it('allows both Klarna address sets with "both"', () => {
    const deny = policyFor('both').Statement[1] as { Condition: { NotIpAddress: { 'aws:SourceIp': string[] } } };
    expect(deny.Condition.NotIpAddress['aws:SourceIp']).toEqual([
      ...cidrs(klarnaCallbackIps.production),
      ...cidrs(klarnaCallbackIps.playground),
    ]);
  });

  it('refuses an unknown mode when the stack is built', () => {
    expect(() => buildStack({ klarnaIpAllowlist: 'everyone' as never })).toThrow(/klarnaIpAllowlist/);
  });
});

describe('alarms', () => {
  const alarms = (): Json[] => ofType('AWS::CloudWatch::Alarm').map(([, alarm]) => alarm.Properties ?? {});
  const topicId = (): string => logicalId(stack.backend.node.findChild('AlarmTopic'));

  it('sends every alarm and its recovery to the SNS topic', () => {
    // 5xx rate, p99 per callback, errors and throttles per function, five fail-closed reasons, denial
    // rate, the order lifecycle's eight (test/infra/orders.test.ts), the rules checker's six
    // (test/infra/rules-checker.test.ts) and the commands' eight (test/infra/order-commands.test.ts).
    expect(alarms()).toHaveLength(1 + callbackRoutes.length + 2 * allFunctions.length + failClosedReasons.length + 1 + 8 + 6 + 8);
    for (const alarm of alarms()) {
      expect(alarm.AlarmActions).toEqual([{ Ref: topicId() }]);
      expect(alarm.OKActions).toEqual([{ Ref: topicId() }]);
      expect(alarm.AlarmName).toBeUndefined();
    }
  });

  it('alarms when more than 5% of API requests answer 5xx', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/ApiGateway',
      MetricName: '5XXError',
      Statistic: 'Average',
      Threshold: 0.05,
      ComparisonOperator: 'GreaterThanThreshold',
      Dimensions: [{ Name: 'ApiName', Value: stack.api.restApiName }],
    });
  });

  it.each(callbackRoutes.map((route) => [route.path, route] as const))('alarms on p99 latency over 2 s for POST %s', (_path, route) => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/ApiGateway',
      MetricName: 'Latency',
      ExtendedStatistic: 'p99',
      Threshold: 2000,
      ComparisonOperator: 'GreaterThanThreshold',
      Dimensions: [
        { Name: 'ApiName', Value: stack.api.restApiName },
        { Name: 'Method', Value: route.method },
        { Name: 'Resource', Value: route.path },
        { Name: 'Stage', Value: { Ref: logicalId(stack.api.deploymentStage) } },
      ],
    });
  });

  it.each(allFunctions.map((def) => [def.id, def] as const))('alarms on any error or throttle of %s', (_id, def) => {
    for (const metricName of ['Errors', 'Throttles']) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/Lambda',
        MetricName: metricName,
        Statistic: 'Sum',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: fnLogicalId(def) } }],
      });
    }
  });

  it.each(failClosedReasons.map((reason) => [reason]))('alarms within a minute of any callback that failed closed with %s', (reason) => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'KlarnaServerless/TestStack',
      MetricName: 'CallbackDecision',
      Dimensions: [
        { Name: 'reason', Value: reason },
        { Name: 'service', Value: 'klarna-serverless' },
      ],
      Statistic: 'Sum',
      Period: 60,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 5,
      DatapointsToAlarm: 1,
      TreatMissingData: 'notBreaching',
    });
  });

  const denialAlarm = (other: KlarnaStack): Json => {
    const [found] = Object.values(Template.fromStack(other).findResources('AWS::CloudWatch::Alarm', { Properties: { Metrics: Match.anyValue() } }));
    return (found as { Properties: Json }).Properties;
  };

  it('alarms when more than a configurable share of at least 20 decisions in 5 minutes deny or refuse', () => {
    const alarm = denialAlarm(stack);
    expect(alarm).toMatchObject({ Threshold: 0.25, ComparisonOperator: 'GreaterThanThreshold', EvaluationPeriods: 1 });
    const metrics = alarm.Metrics as { Id: string; Expression?: string; MetricStat?: { Metric: { Dimensions: Json[] }; Period: number; Stat: string }; ReturnData?: boolean }[];
    const top = metrics.find((metric) => metric.ReturnData !== false);
    expect(top?.Expression).toBe('IF(a + u + d + r >= 20, (d + r) / (a + u + d + r), 0)');
    const decisionsCounted = metrics
      .filter((metric) => metric.MetricStat)
      .map((metric) => [metric.MetricStat?.Stat, metric.MetricStat?.Period, metric.MetricStat?.Metric.Dimensions.find((d) => d.Name === 'decision')?.Value])
      .sort();
    expect(decisionsCounted).toEqual([
      ['Sum', 300, 'approve'],
      ['Sum', 300, 'deny'],
      ['Sum', 300, 'refuse'],
      ['Sum', 300, 'update'],
    ]);
    expect(denialAlarm(buildStack({ denialRateAlarmShare: 0.4 })).Threshold).toBe(0.4);
    expect(() => buildStack({ denialRateAlarmShare: 1.5 })).toThrow(/denialRateAlarmShare/);
  });

  it('accepts only TLS publishers on the alarm topic', () => {
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });
});

describe('dashboard', () => {
  /** Every string in the dashboard's body (a JSON document joined with the stack's references). */
  const strings = (): string[] => {
    const [[, dashboard] = ['', undefined]] = ofType('AWS::CloudWatch::Dashboard');
    const parts = ((dashboard?.Properties?.DashboardBody as Json)['Fn::Join'] as [string, unknown[]])[1];
    const document: unknown = JSON.parse(parts.map((part) => (typeof part === 'string' ? part : 'REF')).join(''));
    const found: string[] = [];
    const walk = (value: unknown): void => {
      if (typeof value === 'string') found.push(value);
      else if (Array.isArray(value)) value.forEach(walk);
      else if (value !== null && typeof value === 'object') Object.values(value).forEach(walk);
    };
    walk(document);
    return found;
  };

  it('is one dashboard: decisions by reason, p50/p99 per function, the OSM hit ratio, Klarna’s errors, the alarms', () => {
    expect(ofType('AWS::CloudWatch::Dashboard')).toHaveLength(1);
    const found = strings();
    expect(found).toContain(`SEARCH('{"KlarnaServerless/TestStack",service,callback,decision,reason} MetricName="CallbackDecision"', 'Sum', 300)`);
    const titles = [
      'KCO callback decisions by callback, decision and reason (per 5 minutes)',
      'Duration p50 per function (ms)',
      'Duration p99 per function (ms)',
      'OSM cache hit ratio (hit ÷ hit + miss + stale)',
      "Klarna's errors (OSM requests Klarna failed, impressions it refused, stale copies served)",
      'Alarms',
    ];
    for (const title of titles) expect(found).toContain(title);
    for (const def of allFunctions) expect(found).toEqual(expect.arrayContaining([`${def.id} p50`, `${def.id} p99`]));
    expect(found).toContain('100 * FILL(h, 0) / (FILL(h, 0) + FILL(m, 0) + FILL(s, 0))');
  });
});

describe('floods', () => {
  const waf = (other: KlarnaStack = stack) => {
    const found = Template.fromStack(other);
    return {
      acls: Object.values(found.findResources('AWS::WAFv2::WebACL')) as CfnResource[],
      ipSets: Object.values(found.findResources('AWS::WAFv2::IPSet')) as CfnResource[],
      associations: Object.values(found.findResources('AWS::WAFv2::WebACLAssociation')) as CfnResource[],
    };
  };

  it('puts a WAF web ACL in front of the stage whose only rule limits each source address, never counting Klarna’s addresses', () => {
    const { acls, ipSets, associations } = waf();
    expect(acls).toHaveLength(1);
    expect(ipSets).toHaveLength(1);
    expect(ipSets[0]?.Properties).toMatchObject({
      Scope: 'REGIONAL',
      IPAddressVersion: 'IPV4',
      Addresses: [...klarnaCallbackIps.production, ...klarnaCallbackIps.playground].map((ip) => `${ip}/32`),
    });
    const acl = acls[0]?.Properties as { Scope: string; DefaultAction: Json; Rules: Json[] };
    expect(acl.Scope).toBe('REGIONAL');
    expect(acl.DefaultAction).toEqual({ Allow: {} });
    expect(acl.Rules).toHaveLength(1);
    const ipSetId = Object.keys(Template.fromStack(stack).findResources('AWS::WAFv2::IPSet'))[0];
    expect(acl.Rules[0]).toMatchObject({
      Name: 'RatePerSourceAddress',
      Action: { Block: { CustomResponse: { ResponseCode: 429 } } },
      Statement: {
        RateBasedStatement: {
          Limit: 2000,
          EvaluationWindowSec: 300,
          AggregateKeyType: 'IP',
          ScopeDownStatement: { NotStatement: { Statement: { IPSetReferenceStatement: { Arn: { 'Fn::GetAtt': [ipSetId, 'Arn'] } } } } },
        },
      },
    });
    expect(associations).toHaveLength(1);
    expect(associations[0]?.Properties?.ResourceArn).toEqual({
      'Fn::Join': [
        '',
        ['arn:', { Ref: 'AWS::Partition' }, ':apigateway:', { Ref: 'AWS::Region' }, '::/restapis/', { Ref: logicalId(stack.api) }, '/stages/', { Ref: logicalId(stack.api.deploymentStage) }],
      ],
    });
  });

  it('uses no managed rule group and inspects no body, so nothing generic stands in front of the callbacks', () => {
    const text = JSON.stringify(waf().acls);
    for (const forbidden of ['ManagedRuleGroupStatement', 'RuleGroupReferenceStatement', '"Body"', 'JsonBody', 'SqliMatchStatement', 'XssMatchStatement']) {
      expect(text).not.toContain(forbidden);
    }
  });

  it('takes the WAF limit from the settings and leaves WAF out with "off"', () => {
    const limited = waf(buildStack({ wafRateLimit: 500 })).acls[0]?.Properties as { Rules: { Statement: { RateBasedStatement: { Limit: number } } }[] };
    expect(limited.Rules[0]?.Statement.RateBasedStatement.Limit).toBe(500);
    const off = waf(buildStack({ wafRateLimit: 'off' }));
    expect([off.acls.length, off.ipSets.length, off.associations.length]).toEqual([0, 0, 0]);
    expect(() => buildStack({ wafRateLimit: 5 })).toThrow(/wafRateLimit/);
  });

  it('reserves no concurrency by default (a new account may have only 10), and the configured amount for each callback only', () => {
    for (const def of allFunctions) expect(props(fnLogicalId(def)).ReservedConcurrentExecutions).toBeUndefined();
    const reserved = buildStack({ callbackReservedConcurrency: 20 });
    const reservations = Object.fromEntries(
      allFunctions.map((def) => {
        const cfn = reserved.functions.get(def)?.function.node.defaultChild as unknown as { reservedConcurrentExecutions?: number };
        return [def.id, cfn.reservedConcurrentExecutions];
      }),
    );
    expect(reservations).toEqual({
      AddressUpdateFunction: 20,
      CountryChangeFunction: 20,
      ShippingOptionUpdateFunction: 20,
      ValidationFunction: 20,
      OsmPlacementFunction: undefined,
    });
  });
});

describe('outputs', () => {
  const outputs = (): Record<string, { Value: unknown }> => template.toJSON().Outputs as Record<string, { Value: unknown }>;
  const base = (): unknown[] => [
    'https://',
    { Ref: logicalId(stack.api) },
    '.execute-api.',
    { Ref: 'AWS::Region' },
    '.',
    { Ref: 'AWS::URLSuffix' },
    '/',
    { Ref: logicalId(stack.api.deploymentStage) },
  ];

  it.each(kcoCallbacks.map(({ callback }) => [callback] as const))(
    'gives the merchant_urls.%s template with the order id placeholder and the token placeholder',
    (callback) => {
      const name = `MerchantUrl${callback
        .split('_')
        .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
        .join('')}`;
      expect(outputs()[name]?.Value).toEqual({
        'Fn::Join': ['', [...base(), `/kco/orders/{checkout.order.id}/${callback}?token=TOKEN_FROM_SECRET_KcoCallbackTokens`]],
      });
    },
  );

  it('gives the API and OSM base URLs without a trailing slash', () => {
    expect(outputs().ApiUrl?.Value).toEqual({ 'Fn::Join': ['', base()] });
    expect(outputs().OsmBaseUrl?.Value).toEqual({ 'Fn::Join': ['', [...base(), '/osm']] });
    // RestApi's own Endpoint output (with a trailing slash) is removed so there is one URL to copy.
    expect(Object.keys(outputs()).filter((key) => key.startsWith('ApiEndpoint'))).toEqual([]);
  });

  it('gives the table names and the secret ARNs', () => {
    for (const def of tables) expect(outputs()[`${def.id}Name`]?.Value).toEqual({ Ref: tableLogicalId(def.id) });
    expect(outputs().KcoCallbackTokensSecretArn?.Value).toEqual({ Ref: secretLogicalId('KcoCallbackTokens') });
    expect(outputs().OsmCredentialsSecretArn?.Value).toEqual({ Ref: secretLogicalId('OsmCredentials') });
  });
});

describe('stack props', () => {
  it('passes OSM region, environment, allowed origin and client id to the OSM function only', () => {
    const other = buildStack({ osm: { region: 'na', environment: 'production', allowedOrigin: 'https://shop.example', clientId: 'klarna_live_client_abc' } });
    const variables = (def: FunctionDefinition): Json => {
      const fn = other.functions.get(def)?.function;
      const cfn = fn?.node.defaultChild as CfnElement;
      return (Stack.of(cfn).resolve((cfn as unknown as { environment: { variables: Json } }).environment) as { variables: Json })
        .variables;
    };
    expect(variables(functions.osmPlacement)).toMatchObject({
      OSM_REGION: 'na',
      OSM_ENVIRONMENT: 'production',
      OSM_ALLOWED_ORIGIN: 'https://shop.example',
      OSM_CLIENT_ID: 'klarna_live_client_abc',
      // The secret still holds the v4 username and password.
      OSM_CREDENTIALS_SECRET_ARN: expect.anything() as unknown as Json,
    });
    expect(variables(functions.validation)).not.toHaveProperty('OSM_REGION');
    expect(variables(functions.validation)).not.toHaveProperty('OSM_CLIENT_ID');
  });

  it('refuses an OSM client id that is empty or holds spaces, and sets none by default', () => {
    expect(() => buildStack({ osm: { clientId: '' } })).toThrow(/osm.clientId/);
    expect(() => buildStack({ osm: { clientId: 'klarna client' } })).toThrow(/osm.clientId/);
    const fn = stack.functions.get(functions.osmPlacement)?.function;
    const cfn = fn?.node.defaultChild as CfnElement;
    const { variables } = Stack.of(cfn).resolve((cfn as unknown as { environment: { variables: Json } }).environment) as { variables: Record<string, unknown> };
    expect(variables).not.toHaveProperty('OSM_CLIENT_ID');
  });
});
