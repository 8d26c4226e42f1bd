/**
 * KlarnaCheckoutBackend, the construct a merchant adds to a stack of their own: tables, one Lambda
 * per function definition, the REST API built from the route table, the secrets, alarms, and
 * what the merchant pastes into Klarna's merchant_urls. Everything is derived from lib/routes.ts
 * and lib/tables.ts; no path, key or table is named here. KlarnaStack (end of file) is this
 * repository's own app: a Stack holding one instance, with the outputs.
 */
import {
  Annotations,
  CfnOutput,
  Duration,
  Fn,
  RemovalPolicy,
  SecretValue,
  Stack,
  Token,
  Validations,
  type StackProps,
} from 'aws-cdk-lib';
import {
  AccessLogFormat,
  AuthorizationType,
  CfnRestApi,
  EndpointType,
  JsonSchemaType,
  JsonSchemaVersion,
  LambdaIntegration,
  LogGroupLogDestination,
  MethodLoggingLevel,
  ResponseType,
  RestApi,
  type MethodDeploymentOptions,
} from 'aws-cdk-lib/aws-apigateway';
import { Alarm, ComparisonOperator, Metric, Stats, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { AttributeType, BillingMode, ProjectionType, StreamViewType, Table } from 'aws-cdk-lib/aws-dynamodb';
import type { Dashboard } from 'aws-cdk-lib/aws-cloudwatch';
import { EventBus, type IEventBus } from 'aws-cdk-lib/aws-events';
import { AnyPrincipal, Effect, Grant, PolicyDocument, PolicyStatement, type IGrantable } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Secret, type ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Topic, type ITopic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE_ENV } from '../functions/shared/metric-names.js';
import { NOT_JSON_TEXT, UNAUTHORIZED_TEXT } from '../functions/shared/refusal-texts.js';
import { CfnWebACLAssociation } from 'aws-cdk-lib/aws-wafv2';
import { EdgeProtection } from './edge-protection.js';
import { KlarnaFunction, callbackTimeout, secretsExtensionFor } from './klarna-function.js';
import { addDashboard, addDecisionAlarms, type AlarmSpec } from './monitoring.js';
import {
  OrderLifecycle,
  createOrderManagementSecret,
  orderFunctionTimeout,
  orderManagementEnvironment,
  orderManagementSecretEnvVar,
  type OrderManagementSettings,
} from './order-lifecycle.js';
import { OrderCommands, type OrderCommandsSettings } from './order-commands.js';
import { RulesChecker } from './rules-checker.js';
import { functions, kcoCallbacks, merchantUrls, orderRoutes, routes, type FunctionDefinition, type TableAccess } from './routes.js';
import { orderLedgerTable, ordersTable, placementsTable, rulesHistoryTable, rulesTable, tables, type KeyAttribute, type TableDefinition } from './tables.js';

/**
 * The source addresses Klarna has published for KCO callbacks. Not confirmed to still hold since
 * Klarna Checkout moved to Kustom (2025): check Kustom's documentation before turning the
 * allowlist on, or callbacks will be refused with 403.
 */
export const klarnaCallbackIps = {
  production: ['52.17.117.56', '52.17.176.198', '52.0.45.33', '52.0.46.187', '13.211.30.100', '3.104.49.49', '13.54.229.130'],
  playground: [
    '34.242.203.160',
    '34.242.19.4',
    '52.45.47.152',
    '34.235.91.238',
    '3.24.91.202',
    '52.62.115.68',
    '52.63.129.92',
  ],
} as const;

export const klarnaIpAllowlistModes = ['off', 'production', 'playground', 'both'] as const;
export type KlarnaIpAllowlist = (typeof klarnaIpAllowlistModes)[number];

export const allowlistCidrs = (mode: KlarnaIpAllowlist): string[] => {
  const ips: readonly string[] =
    mode === 'off'
      ? []
      : mode === 'both'
        ? [...klarnaCallbackIps.production, ...klarnaCallbackIps.playground]
        : klarnaCallbackIps[mode];
  return ips.map((ip) => `${ip}/32`);
};

/** Environment variable through which a function learns the ARN of the one secret it may read. */
export const secretEnvVars = {
  callbackTokens: 'KCO_CALLBACK_TOKENS_SECRET_ARN',
  osmCredentials: 'OSM_CREDENTIALS_SECRET_ARN',
} as const satisfies Record<FunctionDefinition['secret'], string>;

/**
 * Table actions per access level: exactly what the functions' code calls, never Query or Scan.
 * `read` is the callbacks' rules lookup, one BatchGetItem (functions/shared/rules-store.ts); the
 * rules tool's GetItem runs with the operator's credentials, not a function role.
 */
const tableActions = {
  read: ['dynamodb:BatchGetItem'],
  readWrite: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
  /** Exactly what functions/osm/store.ts sends: GetItem, PutItem and the conditional DeleteItem. */
  osmCache: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem'],
  /** Exactly what functions/orders/orders-store.ts sends to the orders table (a TransactWriteItems is its PutItems; BatchGetItem reads lines kept apart): never a delete. */
  record: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
} as const satisfies Record<TableAccess, readonly string[]>;

/**
 * Tables whose contents can be rebuilt (a cache): no point-in-time recovery, deleted with the
 * stack. Every other table holds records (merchant rules) and gets PITR, deletion protection
 * and is retained when the stack is deleted.
 */
const cacheTables: ReadonlySet<TableDefinition> = new Set<TableDefinition>([placementsTable]);

/**
 * The OSM function waits on Klarna's messaging API (its client gives up after OSM_TIMEOUT_MS, at
 * most 2.5 s) plus Secrets Manager and DynamoDB on a cold start, and answers a shop page rather
 * than Klarna's checkout: 5 s covers that and bounds it well below API Gateway's 29 s. The
 * callbacks keep the 3 s default (see lib/klarna-function.ts).
 */
const osmTimeout = Duration.seconds(5);

/** The id of synth's warning that the alarms reach nobody (acknowledge it with Annotations.of(scope).acknowledgeWarning). */
export const alarmsWithoutDestinationWarning = 'klarna-serverless:alarms-without-destination';

/** What stands in the merchant_urls outputs where the token goes. */
export const tokenPlaceholder = 'TOKEN_FROM_SECRET_KcoCallbackTokens';

/** The web ACL in front of the API stage: one created here, an existing one (its ARN), or none. */
export type KlarnaWebAcl = 'create' | 'none' | { readonly arn: string };

/** Secrets the merchant already has; each one not given is created (and follows `removalPolicy`). */
export type KlarnaSecrets = {
  /** `{"tokens": ["..."]}`: the tokens Klarna sends in ?token= of the callback URLs. */
  readonly callbackTokens?: ISecret;
  /** `{"client_id": "", "username": "", "password": ""}`: Klarna On-site messaging credentials. */
  readonly osmCredentials?: ISecret;
  /** `{"username", "password"}` or `{"api_key"}`: the Order Management API credentials. */
  readonly orderManagementCredentials?: ISecret;
};

export type KlarnaCheckoutBackendProps = {
  /** Allow the /kco callback paths only from Klarna's callback addresses. Default 'off'. */
  readonly klarnaIpAllowlist?: KlarnaIpAllowlist;
  /** E-mail address subscribed to the alarm topic (confirm the subscription mail once). */
  readonly alarmEmail?: string;
  /**
   * The topic every alarm and its recovery is sent to; default a new topic. Without this and
   * without `alarmEmail`, synth warns that the alarms reach nobody.
   */
  readonly alarmTopic?: ITopic;
  /** X-Ray tracing for the API stage and the functions. Default off. */
  readonly tracing?: boolean;
  /**
   * Throttling applied to each method separately (so a burst of OSM page views cannot starve the
   * callbacks). The defaults, 50 requests/s with bursts of 100, are far above Klarna's callback
   * rate for one shop; a busy shop may need more for OSM.
   */
  readonly throttling?: { readonly rateLimit: number; readonly burstLimit: number };
  /**
   * The OSM methods' own throttling (default 100 requests/s, bursts of 200): shop pages call them,
   * so they need more than the callbacks, and each method has its own bucket.
   */
  readonly osmThrottling?: { readonly rateLimit: number; readonly burstLimit: number };
  /**
   * AWS WAF in front of the stage: requests one source address may make in five minutes (Klarna's
   * callback addresses never count) in the web ACL created here, or 'off' (the same as
   * `webAcl: 'none'`). Default 2000.
   */
  readonly wafRateLimit?: number | 'off';
  /** 'create' (default) a web ACL with the `wafRateLimit` rule, use a given one `{ arn }`, or 'none'. */
  readonly webAcl?: KlarnaWebAcl;
  /**
   * Reserved concurrency for each of the four callback functions, so no other function (OSM) can
   * take the account's Lambda capacity from them. Default none: AWS keeps 10 unreserved, and a
   * new account may have only 10 in all (docs/configuration.md).
   */
  readonly callbackReservedConcurrency?: number;
  /** The denial-rate alarm fires above this share of callback decisions (default 0.25). */
  readonly denialRateAlarmShare?: number;
  /**
   * On-site messaging settings for the function that reads the OSM credentials; unset ones keep
   * the function's defaults (region eu, environment playground, any origin). `clientId`: the OSM
   * client id (public: Klarna's web SDK puts it in every shop page). Given here, it keys the
   * function's cache and the credentials secret holds only the v4 username and password, read on
   * a cache miss alone; unset, the secret's `client_id` is read before every cold lookup.
   */
  readonly osm?: false | { readonly region?: string; readonly environment?: string; readonly allowedOrigin?: string; readonly clientId?: string };
  /**
   * The order's life after the purchase (push and notification routes, the orders table, the
   * Order Management credentials, the event bus, publisher and sweeper). Default true.
   */
  readonly orderLifecycle?: boolean;
  /** Order Management API host and the orders' retention; Kustom playground and 90 days by default. */
  readonly orderManagement?: OrderManagementSettings;
  /** The shop's commands: expiry warning days (3) and automatic extension (off). */
  readonly orderCommands?: OrderCommandsSettings;
  /** Days a replaced version of the rules is kept in the rules history (TTL). Default 90. */
  readonly rulesHistoryDays?: number;
  /**
   * The bus the order events and the rules checker's events go to; default the order lifecycle's
   * new bus, or (with the lifecycle left out) a new bus for the rules events.
   */
  readonly eventBus?: IEventBus;
  /** Secrets the merchant already has (each one not given is created). */
  readonly secrets?: KlarnaSecrets;
  /**
   * What happens to the tables holding records (rules, orders) and to the secrets created here
   * when the instance is removed: RETAIN (default) keeps them together, so a redeploy finds the
   * tokens its live merchant_urls carry; DESTROY deletes them (test instances). The OSM cache
   * table, logs and everything else are always deleted.
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * CloudWatch namespace of the business metrics the functions write and the alarms and
   * dashboard read: one per instance, so two instances never see each other's traffic. Default
   * `KlarnaServerless/<stack name>/<construct path in the stack>` (`Default` path parts left out).
   */
  readonly metricsNamespace?: string;
  /**
   * Create the region's API Gateway CloudWatch role (AWS::ApiGateway::Account), an account-wide
   * setting shared by every API in the region. Default false: set it once per account and
   * region yourself (docs/deploy.md), or let this one instance own it.
   */
  readonly apiGatewayCloudWatchRole?: boolean;
  /**
   * ARN of the AWS Parameters and Secrets Lambda Extension layer (arm64) in the stack's region.
   * Default: the one CDK knows for the region; required in regions CDK has no ARN for and in a
   * stack without a region.
   */
  readonly paramsAndSecretsLayerArn?: string;
};

/** The repository's own app: a Stack holding one KlarnaCheckoutBackend, with the outputs. */
export type KlarnaStackProps = StackProps & KlarnaCheckoutBackendProps;

/** What the default metrics namespace and API name are made of: the stack name and the path in it. */
const instanceName = (scope: Construct): string[] => {
  const stack = Stack.of(scope);
  const inStack = scope.node.scopes.slice(scope.node.scopes.indexOf(stack) + 1).map((c) => c.node.id);
  return [stack.stackName, ...inStack.filter((id) => id !== 'Default')];
};
const namespacePattern = /^[A-Za-z0-9._/#: -]{1,255}$/;

const pascal = (snake: string): string =>
  snake
    .split(/[_-]/)
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');

const attributeType = (key: KeyAttribute): AttributeType =>
  key.type === 'S' ? AttributeType.STRING : AttributeType.NUMBER;

export class KlarnaCheckoutBackend extends Construct {
  readonly api: RestApi;
  /** The API's base URL, without a trailing slash. */
  readonly apiUrl: string;
  /** Klarna's merchant_urls to paste, by callback name; `tokenPlaceholder` stands for a token of `secrets.callbackTokens`. */
  readonly merchantUrls: Readonly<Record<string, string>>;
  /** Base URL of the On-site messaging routes (undefined when OSM is left out). */
  readonly osmBaseUrl?: string;
  readonly functions: ReadonlyMap<FunctionDefinition, KlarnaFunction>;
  readonly tables: ReadonlyMap<TableDefinition, Table>;
  readonly rulesTable: Table;
  readonly placementsTable?: Table;
  readonly ordersTable?: Table;
  /** The order lifecycle's bus, publisher, sweeper and queue (undefined when left out). */
  readonly orders?: OrderLifecycle;
  /** The bus the order and rules events go to. */
  readonly eventBus?: IEventBus;
  readonly alarmTopic: ITopic;
  readonly dashboard: Dashboard;
  readonly secrets: { readonly callbackTokens: ISecret; readonly osmCredentials?: ISecret; readonly orderManagementCredentials?: ISecret };
  /** The CloudWatch namespace of this instance's business metrics. */
  readonly metricsNamespace: string;
  /** ARN of the web ACL in front of the stage (undefined with none). */
  readonly webAclArn?: string;
  /** The shop's commands: IAM routes, bus events, ledger, expiry sweep (undefined when the order lifecycle is left out). */
  readonly commands?: OrderCommands;
  /** Rules checked on write: the checker on the rules table's stream, its alarms, the history. */
  readonly rulesChecker: RulesChecker;

  constructor(scope: Construct, id: string, props: KlarnaCheckoutBackendProps = {}) {
    super(scope, id);
    const stack = Stack.of(this);
    const withOsm = props.osm !== false;
    const osmSettings = props.osm === false ? undefined : props.osm;
    const withOrders = props.orderLifecycle ?? true;
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.metricsNamespace = props.metricsNamespace ?? `KlarnaServerless/${instanceName(this).join('/')}`.replace(/[^A-Za-z0-9._/#: -]/g, '-').slice(0, 255);
    if (!Token.isUnresolved(this.metricsNamespace) && (!namespacePattern.test(this.metricsNamespace) || this.metricsNamespace.startsWith('AWS/'))) {
      throw new Error(`metricsNamespace must be 1 to 255 of A-Z a-z 0-9 . - _ / # : and space, not starting with AWS/; got ${this.metricsNamespace}`);
    }
    const webAcl: KlarnaWebAcl = props.wafRateLimit === 'off' ? 'none' : (props.webAcl ?? 'create');
    const secretsExtension = secretsExtensionFor(this, props.paramsAndSecretsLayerArn);
    /** Every function of the instance writes its metrics to the instance's namespace. */
    const instanceEnvironment = { [METRICS_NAMESPACE_ENV]: this.metricsNamespace };
    const allowlist = props.klarnaIpAllowlist ?? 'off';
    if (!klarnaIpAllowlistModes.includes(allowlist)) {
      throw new Error(`klarnaIpAllowlist must be one of ${klarnaIpAllowlistModes.join(', ')}; got ${String(allowlist)}`);
    }
    const tracing = props.tracing ?? false;
    const throttling = props.throttling ?? { rateLimit: 50, burstLimit: 100 };
    const osmThrottling = props.osmThrottling ?? { rateLimit: 100, burstLimit: 200 };
    const wafRateLimit = props.wafRateLimit ?? 2000;
    const denialRateShare = props.denialRateAlarmShare ?? 0.25;
    if (!(denialRateShare > 0 && denialRateShare < 1)) throw new Error(`denialRateAlarmShare must be between 0 and 1; got ${denialRateShare}`);
    if (osmSettings?.clientId !== undefined && !/^[\x21-\x7e]{1,255}$/.test(osmSettings.clientId)) {
      throw new Error('osm.clientId must be the OSM client id as Klarna gives it: 1 to 255 visible ASCII characters, no spaces');
    }
    if (wafRateLimit !== 'off' && !(Number.isInteger(wafRateLimit) && wafRateLimit >= 10 && wafRateLimit <= 2_000_000_000)) {
      throw new Error(`wafRateLimit must be 'off' or an integer from 10 (AWS WAF's minimum); got ${String(wafRateLimit)}`);
    }
    const callbackFunctions = new Set<FunctionDefinition>(kcoCallbacks.map(({ fn }) => fn));
    const osmEnvironment: Record<string, string> = Object.fromEntries(
      Object.entries({
        OSM_REGION: osmSettings?.region,
        OSM_ENVIRONMENT: osmSettings?.environment,
        OSM_ALLOWED_ORIGIN: osmSettings?.allowedOrigin,
        OSM_CLIENT_ID: osmSettings?.clientId,
      }).filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== ''),
    );

    // ---- Tables -------------------------------------------------------------------------------
    const tableMap = new Map<TableDefinition, Table>();
    const partTables = tables.filter((def) => (def !== placementsTable || withOsm) && ((def !== ordersTable && def !== orderLedgerTable) || withOrders));
    for (const def of partTables) {
      const cache = cacheTables.has(def);
      const table = new Table(this, def.id, {
        partitionKey: { name: def.partitionKey.name, type: attributeType(def.partitionKey) },
        ...(def.sortKey ? { sortKey: { name: def.sortKey.name, type: attributeType(def.sortKey) } } : {}),
        ...(def.timeToLiveAttribute ? { timeToLiveAttribute: def.timeToLiveAttribute } : {}),
        ...(def.stream ? { stream: StreamViewType.NEW_AND_OLD_IMAGES } : {}),
        billingMode: BillingMode.PAY_PER_REQUEST,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: !cache },
        // A table DESTROY may delete cannot be protected from deletion.
        deletionProtection: !cache && removalPolicy !== RemovalPolicy.DESTROY,
        removalPolicy: cache ? RemovalPolicy.DESTROY : removalPolicy,
      });
      if (cache) {
        Validations.of(table).acknowledge({
          id: 'AwsSolutions-DDB3',
          reason:
            'A cache of Klarna OSM responses with a TTL: every item is re-fetched from Klarna on a miss, so restoring it to a point in time has no value.',
        });
      }
      for (const index of def.globalIndexes ?? []) {
        table.addGlobalSecondaryIndex({
          indexName: index.name,
          partitionKey: { name: index.partitionKey.name, type: attributeType(index.partitionKey) },
          ...(index.sortKey ? { sortKey: { name: index.sortKey.name, type: attributeType(index.sortKey) } } : {}),
          ...(index.keysOnly ? { projectionType: ProjectionType.KEYS_ONLY } : {}),
        });
      }
      tableMap.set(def, table);
    }
    const tableFor = (def: TableDefinition): Table => {
      const table = tableMap.get(def);
      if (!table) throw new Error(`Table ${def.id} is used by a function but missing from lib/tables.ts tables`);
      return table;
    };
    this.tables = tableMap;
    this.rulesTable = tableFor(rulesTable);
    if (withOsm) this.placementsTable = tableFor(placementsTable);
    if (withOrders) this.ordersTable = tableFor(ordersTable);

    // ---- Secrets ------------------------------------------------------------------------------
    // Secrets Manager can generate a string but not a JSON array, so a generated seed (read by
    // nobody but CloudFormation) becomes the first token through a dynamic reference. The merchant
    // may later replace the whole value, e.g. {"tokens": ["new", "old"]} while rotating.
    const given = props.secrets ?? {};
    const created: Secret[] = [];
    let callbackTokens = given.callbackTokens;
    if (!callbackTokens) {
      const tokenSeed = new Secret(this, 'KcoCallbackTokenSeed', {
        description: 'Initial KCO callback token, copied into KcoCallbackTokens at creation. Not read by any function.',
        generateSecretString: { passwordLength: 48, excludePunctuation: true, includeSpace: false },
      });
      const tokens = new Secret(this, 'KcoCallbackTokens', {
        description: 'KCO callback tokens: {"tokens": ["..."]}. Klarna sends one in ?token= of every callback URL.',
        secretStringValue: SecretValue.unsafePlainText(Fn.join('', ['{"tokens":["', tokenSeed.secretValue.unsafeUnwrap(), '"]}'])),
      });
      Validations.of(tokenSeed).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason: 'Used once, when the stack is created, to seed KcoCallbackTokens; nothing reads it afterwards.',
      });
      Validations.of(tokens).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          'Each token is baked into the merchant_urls of checkout orders already created; automatic rotation would break in-flight checkouts. Rotation is manual: add a new token, switch new orders to it, drop the old one after the orders expire (README, Deploy to AWS: Secrets).',
      });
      created.push(tokenSeed, tokens);
      callbackTokens = tokens;
    }
    let osmCredentials = withOsm ? given.osmCredentials : undefined;
    if (withOsm && !osmCredentials) {
      const credentials = new Secret(this, 'OsmCredentials', {
        description: 'Klarna On-site messaging credentials: {"client_id": "", "username": "", "password": ""}.',
        secretObjectValue: {
          client_id: SecretValue.unsafePlainText(''),
          username: SecretValue.unsafePlainText(''),
          password: SecretValue.unsafePlainText(''),
        },
      });
      Validations.of(credentials).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          'Klarna issues these credentials in its merchant portal; no Lambda can rotate them. The merchant replaces the value when Klarna issues new ones.',
      });
      created.push(credentials);
      osmCredentials = credentials;
    }
    let orderManagementCredentials = withOrders ? given.orderManagementCredentials : undefined;
    if (withOrders && !orderManagementCredentials) {
      const credentials = createOrderManagementSecret(this);
      created.push(credentials);
      orderManagementCredentials = credentials;
    }
    // The secrets live merchant_urls and Klarna's credentials depend on go with the tables.
    for (const secret of created) secret.applyRemovalPolicy(removalPolicy);
    this.secrets = { callbackTokens, osmCredentials, orderManagementCredentials };
    const secretFor = (def: FunctionDefinition): ISecret => {
      const secret = def.secret === 'callbackTokens' ? callbackTokens : osmCredentials;
      if (!secret) throw new Error(`${def.id} reads ${def.secret}, which this instance does not have`);
      return secret;
    };
    const orderManagementSecret = (): ISecret => {
      if (!orderManagementCredentials) throw new Error('The order lifecycle is left out: no Order Management credentials');
      return orderManagementCredentials;
    };
    const orderFunctions = new Set<FunctionDefinition>(orderRoutes.map(({ fn }) => fn));
    const partFunctions = (Object.values(functions) as FunctionDefinition[]).filter(
      (def) => (def.secret !== 'osmCredentials' || withOsm) && (!def.orderManagement || withOrders),
    );
    const partRoutes = routes.filter((route) => partFunctions.includes(route.fn));

    // ---- Functions ----------------------------------------------------------------------------
    const functionMap = new Map<FunctionDefinition, KlarnaFunction>();
    for (const def of partFunctions) {
      const fn = new KlarnaFunction(this, def.id, {
        entry: def.entry,
        environment: {
          ...instanceEnvironment,
          ...Object.fromEntries(def.tables.map(({ table }) => [table.envVar, tableFor(table).tableName])),
          [secretEnvVars[def.secret]]: secretFor(def).secretArn,
          ...(def.secret === 'osmCredentials' ? osmEnvironment : {}),
          ...(def.orderManagement
            ? { [orderManagementSecretEnvVar]: orderManagementSecret().secretArn, ...orderManagementEnvironment(props.orderManagement) }
            : {}),
        },
        timeout: callbackFunctions.has(def) ? callbackTimeout : orderFunctions.has(def) ? orderFunctionTimeout : osmTimeout,
        tracing,
        ...(callbackFunctions.has(def) && props.callbackReservedConcurrency !== undefined
          ? { reservedConcurrentExecutions: props.callbackReservedConcurrency }
          : {}),
        secretArns: [secretFor(def).secretArn, ...(def.orderManagement ? [orderManagementSecret().secretArn] : [])],
        secretsExtension,
      });
      for (const { table, access } of def.tables) {
        fn.allow(new PolicyStatement({ actions: [...tableActions[access]], resources: [tableFor(table).tableArn] }));
      }
      functionMap.set(def, fn);
    }
    this.functions = functionMap;
    const functionFor = (def: FunctionDefinition): KlarnaFunction => {
      const fn = functionMap.get(def);
      if (!fn) throw new Error(`Route uses function ${def.id}, which is not in lib/routes.ts functions`);
      return fn;
    };

    // ---- API ----------------------------------------------------------------------------------
    const accessLogs = new LogGroup(this, 'ApiAccessLogs', {
      retention: RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // No personal data and no token: the resource path template instead of the request path with
    // its query string (the token travels in ?token=), no source IP (OSM requests come from
    // shoppers' browsers), no user agent.
    const accessLogFields = {
      requestId: '$context.requestId',
      requestTime: '$context.requestTimeEpoch',
      httpMethod: '$context.httpMethod',
      resourcePath: '$context.resourcePath',
      status: '$context.status',
      responseLength: '$context.responseLength',
      responseLatency: '$context.responseLatency',
      integrationLatency: '$context.integration.latency',
      integrationStatus: '$context.integration.status',
      errorType: '$context.error.responseType',
      errorMessage: '$context.error.message',
      tlsVersion: '$context.tlsVersion',
    };
    const methodDefaults: MethodDeploymentOptions = {
      loggingLevel: MethodLoggingLevel.ERROR,
      dataTraceEnabled: false,
      throttlingRateLimit: throttling.rateLimit,
      throttlingBurstLimit: throttling.burstLimit,
    };
    // Per-method metrics (needed for the p99 latency alarms) only on the callbacks: detailed
    // metrics are billed per metric.
    const callbackRoutes = partRoutes.filter((route) => callbackFunctions.has(route.fn));
    const methodOptions = Object.fromEntries(
      partRoutes.map((route) => [
        `${route.path}/${route.method}`,
        callbackFunctions.has(route.fn)
          ? { ...methodDefaults, metricsEnabled: true }
          : // Each method has its own bucket: a flood of page views cannot use up the callbacks' limit.
            { ...methodDefaults, throttlingRateLimit: osmThrottling.rateLimit, throttlingBurstLimit: osmThrottling.burstLimit },
      ]),
    );

    const allowlistCidrList = allowlistCidrs(allowlist);
    const policy =
      allowlistCidrList.length === 0
        ? undefined
        : new PolicyDocument({
            statements: [
              // A resource policy on an API without IAM auth must allow explicitly...
              new PolicyStatement({
                effect: Effect.ALLOW,
                principals: [new AnyPrincipal()],
                actions: ['execute-api:Invoke'],
                resources: ['execute-api:/*'],
              }),
              // ...and then denies the callback paths to everyone outside Klarna's addresses.
              // OSM is called by the shop's pages, not by Klarna, so it stays open.
              new PolicyStatement({
                effect: Effect.DENY,
                principals: [new AnyPrincipal()],
                actions: ['execute-api:Invoke'],
                resources: callbackRoutes.map(
                  (route) => `execute-api:/*/${route.method}${route.path.replace(/\{[^}]+\}/g, '*')}`,
                ),
                conditions: { NotIpAddress: { 'aws:SourceIp': allowlistCidrList } },
              }),
            ],
          });

    const api = new RestApi(this, 'Api', {
      // Unique per instance (the latency alarms find their API by name): `<stack name>-api` for the
      // one instance of this repo's app.
      restApiName: `${instanceName(this).join('-')}-api`,
      description: 'Klarna Checkout callbacks and On-site messaging',
      // Regional: Klarna's servers call it directly; an edge-optimized endpoint only adds a hop.
      endpointTypes: [EndpointType.REGIONAL],
      // API Gateway needs the account-level CloudWatch role to write access and execution logs: an
      // account-wide setting, so only on request (docs/deploy.md says how to set it once).
      cloudWatchRole: props.apiGatewayCloudWatchRole ?? false,
      ...(policy ? { policy } : {}),
      deployOptions: {
        stageName: 'live',
        ...methodDefaults,
        metricsEnabled: false,
        tracingEnabled: tracing,
        accessLogDestination: new LogGroupLogDestination(accessLogs),
        accessLogFormat: AccessLogFormat.custom(JSON.stringify(accessLogFields)),
        methodOptions,
      },
    });
    // A changed resource policy only takes effect with a new deployment.
    api.latestDeployment?.addToLogicalId({ klarnaIpAllowlist: allowlistCidrList });
    // The execute-api endpoint accepts TLS 1.0 unless told otherwise.
    (api.node.defaultChild as CfnRestApi).securityPolicy = 'TLS_1_2';
    this.api = api;
    // RestApi's own Endpoint output ends in a slash; ApiUrl below is the one to use.
    api.node.tryRemoveChild('Endpoint');
    const cloudWatchRole = api.node.tryFindChild('CloudWatchRole');
    if (cloudWatchRole) {
      Validations.of(cloudWatchRole).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        reason:
          'The account-wide role API Gateway uses to write access and execution logs; AWS documents this managed policy for it and API Gateway chooses the log group names, so an inline policy could not be narrower.',
      });
    }
    if (webAcl === 'none') {
      Validations.of(api.deploymentStage).acknowledge({
        id: 'AwsSolutions-APIG3',
        reason:
          "WAF turned off by the wafRateLimit setting: callbacks are still checked by a secret token, throttled per method and can be limited to Klarna's addresses; generic WAF rule sets are a known cause of blocked Klarna callbacks.",
      });
    } else if (webAcl === 'create') {
      const edge = new EdgeProtection(this, 'EdgeProtection', {
        stage: api.deploymentStage,
        klarnaCidrs: allowlistCidrs('both'),
        rateLimitPer5Minutes: wafRateLimit === 'off' ? 2000 : wafRateLimit,
      });
      this.webAclArn = edge.webAcl.attrArn;
    } else {
      // The merchant's own web ACL: its rules are theirs (docs/configuration.md warns about
      // managed rule groups that block Klarna's callbacks).
      const association = new CfnWebACLAssociation(this, 'WebAclAssociation', { resourceArn: api.deploymentStage.stageArn, webAclArn: webAcl.arn });
      association.node.addDependency(api.deploymentStage);
      this.webAclArn = webAcl.arn;
    }

    // API Gateway's own refusals of what the validator catches, in the same shapes the functions
    // answer: a callback without token is 401 {"error"}, a body that is not a JSON object is
    // Klarna's 400 {error_type, error_text} (API Gateway would say {"message": ...}).
    api.addGatewayResponse('MissingToken', {
      type: ResponseType.BAD_REQUEST_PARAMETERS,
      statusCode: '401',
      responseHeaders: { 'Content-Type': "'application/json'" },
      templates: { 'application/json': JSON.stringify({ error: UNAUTHORIZED_TEXT }) },
    });
    api.addGatewayResponse('NotAJsonOrder', {
      type: ResponseType.BAD_REQUEST_BODY,
      statusCode: '400',
      responseHeaders: { 'Content-Type': "'application/json'" },
      templates: { 'application/json': JSON.stringify({ error_type: 'approval_failed', error_text: NOT_JSON_TEXT }) },
    });

    const validator = api.addRequestValidator('RequestValidator', {
      validateRequestBody: true,
      validateRequestParameters: true,
    });
    // Klarna always posts a JSON object; anything else is refused before a Lambda is invoked. The
    // handlers validate the content with their own schemas and answer in Klarna's format.
    const jsonObject = api.addModel('JsonObject', {
      contentType: 'application/json',
      schema: { schema: JsonSchemaVersion.DRAFT4, title: 'JsonObject', type: JsonSchemaType.OBJECT },
    });

    const integrations = new Map<FunctionDefinition, LambdaIntegration>();
    for (const route of partRoutes) {
      const isCallback = callbackFunctions.has(route.fn);
      // Klarna's push and notification carry the same token; the push has no body to validate.
      const needsToken = isCallback || orderFunctions.has(route.fn);
      let integration = integrations.get(route.fn);
      if (!integration) {
        integration = new LambdaIntegration(functionFor(route.fn).function, { proxy: true, allowTestInvoke: false });
        integrations.set(route.fn, integration);
      }
      const pathParameters = [...route.path.matchAll(/\{([^}]+)\}/g)].map((match) => match[1]);
      const method = api.root.resourceForPath(route.path).addMethod(route.method, integration, {
        authorizationType: AuthorizationType.NONE,
        requestValidator: validator,
        requestParameters: {
          ...Object.fromEntries(pathParameters.map((name) => [`method.request.path.${name}`, true])),
          // Requests without a token are refused by API Gateway, before a Lambda runs.
          ...(needsToken ? { 'method.request.querystring.token': true } : {}),
        },
        ...(isCallback ? { requestModels: { 'application/json': jsonObject } } : {}),
      });
      const reason = needsToken
        ? 'Klarna cannot send IAM signatures, Cognito tokens or custom headers with KCO callbacks; each callback is authenticated by the secret token Klarna carries in the URL (checked by the function against Secrets Manager), optionally with the Klarna IP allowlist.'
        : "On-site messaging serves public promotional content to the shop's pages (shoppers are anonymous); no credential can be kept secret in a browser. Throttling limits abuse.";
      Validations.of(method).acknowledge({ id: 'AwsSolutions-APIG4', reason });
      Validations.of(method).acknowledge({ id: 'AwsSolutions-COG4', reason });
    }

    // ---- Alarms -------------------------------------------------------------------------------
    let alarmTopic = props.alarmTopic;
    if (!alarmTopic) {
      const topic = new Topic(this, 'AlarmTopic', { displayName: 'Klarna backend alarms', enforceSSL: true });
      Validations.of(topic).acknowledge({
        id: 'AwsSolutions-SNS2',
        reason:
          'Alarm notifications carry alarm names and metric values only, no personal data or secrets; CloudWatch cannot publish to a topic encrypted with the AWS-managed SNS key.',
      });
      alarmTopic = topic;
    }
    this.alarmTopic = alarmTopic;
    if (props.alarmEmail) alarmTopic.addSubscription(new EmailSubscription(props.alarmEmail));
    if (!props.alarmEmail && !props.alarmTopic) {
      Annotations.of(this).addWarningV2(
        alarmsWithoutDestinationWarning,
        'The alarms (fail-closed checkouts, errors, throttles) go to a new SNS topic nobody subscribes to: set alarmEmail, or alarmTopic to a topic that reaches someone (docs/deploy.md, Alarms).',
      );
    }
    const alarmAction = new SnsAction(alarmTopic);
    const alarms: Alarm[] = [];
    const alarm = (alarmId: string, spec: AlarmSpec): Alarm => {
      const datapoints = spec.datapoints ?? 1;
      const created = new Alarm(this, alarmId, {
        metric: spec.metric,
        threshold: spec.threshold,
        comparisonOperator: spec.comparison,
        evaluationPeriods: spec.evaluationPeriods ?? (datapoints === 1 ? 1 : 3),
        datapointsToAlarm: datapoints,
        // Quiet periods (no callbacks at night) are not failures.
        treatMissingData: spec.treatMissingData ?? TreatMissingData.NOT_BREACHING,
        alarmDescription: spec.description,
      });
      created.addAlarmAction(alarmAction);
      created.addOkAction(alarmAction);
      alarms.push(created);
      return created;
    };
    const fiveMinutes = Duration.minutes(5);

    alarm('Api5xxRateAlarm', {
      // The Average of 5XXError is the share of requests answered 5xx.
      metric: api.metricServerError({ statistic: Stats.AVERAGE, period: fiveMinutes }),
      threshold: 0.05,
      comparison: ComparisonOperator.GREATER_THAN_THRESHOLD,
      description: 'More than 5% of API requests answered 5xx within 5 minutes.',
    });
    for (const route of callbackRoutes) {
      const callback = route.path.split('/').at(-1) ?? route.path;
      alarm(`${pascal(callback)}LatencyP99Alarm`, {
        metric: new Metric({
          namespace: 'AWS/ApiGateway',
          metricName: 'Latency',
          dimensionsMap: {
            ApiName: api.restApiName,
            Stage: api.deploymentStage.stageName,
            Resource: route.path,
            Method: route.method,
          },
          statistic: Stats.p(99),
          period: fiveMinutes,
        }),
        threshold: 2000,
        comparison: ComparisonOperator.GREATER_THAN_THRESHOLD,
        description: `p99 latency of the ${callback} callback above 2 s in 2 of 3 periods of 5 minutes (Klarna waits 3 s, cold start included).`,
        // One slow cold start among a handful of callbacks is p99 on its own; two periods are a trend.
        datapoints: 2,
      });
    }
    for (const [def, fn] of functionMap) {
      alarm(`${def.id}ErrorsAlarm`, {
        metric: fn.function.metricErrors({ statistic: Stats.SUM, period: fiveMinutes }),
        threshold: 1,
        comparison: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        // The handlers answer every expected failure themselves: an Error is a crash or a timeout.
        description: `${def.id} failed (unhandled error or timeout).`,
      });
      alarm(`${def.id}ThrottlesAlarm`, {
        metric: fn.function.metricThrottles({ statistic: Stats.SUM, period: fiveMinutes }),
        threshold: 1,
        comparison: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        description: `${def.id} was throttled (account concurrency exhausted): its callers got an error instead of an answer.`,
      });
    }

    // ---- After the purchase: events, sweeper --------------------------------------------------
    if (withOrders) {
      this.orders = new OrderLifecycle(this, {
        ordersTable: tableFor(ordersTable),
        ordersIndexName: ordersTable.globalIndexes[0].name,
        rulesTable: tableFor(rulesTable),
        orderManagementCredentials: orderManagementSecret(),
        ...(props.orderManagement ? { settings: props.orderManagement } : {}),
        ...(props.eventBus ? { eventBus: props.eventBus } : {}),
        tracing,
        alarm,
        metricsNamespace: this.metricsNamespace,
        secretsExtension,
        environment: instanceEnvironment,
      });
      this.eventBus = this.orders.bus;
    }

    // The shop's commands (capture, refund, cancel, release, extend): IAM routes and bus events.
    if (withOrders && this.orders) {
      this.commands = new OrderCommands(this, 'OrderCommands', {
        api,
        ordersTable: tableFor(ordersTable),
        ledgerTable: tableFor(orderLedgerTable),
        bus: this.orders.bus,
        orderManagementCredentials: orderManagementSecret(),
        ...(props.orderManagement ? { settings: props.orderManagement } : {}),
        ...(props.orderCommands ? { commands: props.orderCommands } : {}),
        tracing,
        apiHasOpenResourcePolicy: policy !== undefined,
        alarm,
        metricsNamespace: this.metricsNamespace,
        secretsExtension,
        environment: instanceEnvironment,
      });
    }
    // ---- Rules checked on write (the rules table's stream), with their history ----------------
    // Their events go to the order events' bus; with the lifecycle left out, to the bus given or one of their own.
    this.eventBus ??= props.eventBus ?? new EventBus(this, 'RulesEventBus', { description: 'Rules events for the shop: source klarna-serverless (docs/rules.md).' });
    this.rulesChecker = new RulesChecker(this, 'RulesChecker', {
      rulesTable: tableFor(rulesTable),
      historyTable: tableFor(rulesHistoryTable),
      eventBus: this.eventBus,
      alarm,
      tracing,
      metricsNamespace: this.metricsNamespace,
      environment: instanceEnvironment,
      ...(props.rulesHistoryDays === undefined ? {} : { historyRetentionDays: props.rulesHistoryDays }),
    });

    addDecisionAlarms(alarm, { denialRateShare, namespace: this.metricsNamespace });
    this.dashboard = addDashboard(this, { functions: functionMap, alarms, namespace: this.metricsNamespace, osm: withOsm });
    this.rulesChecker.addDashboardWidgets(this.dashboard);

    // ---- What the merchant needs ------------------------------------------------------------
    // The API's base URL without a trailing slash (api.url ends in one).
    this.apiUrl = `https://${api.restApiId}.execute-api.${stack.region}.${stack.urlSuffix}/${api.deploymentStage.stageName}`;
    const partUrls = new Set(partRoutes.map((route) => route.path.split('/').at(-1)));
    this.merchantUrls = Object.fromEntries(Object.entries(merchantUrls(this.apiUrl, tokenPlaceholder)).filter(([callback]) => partUrls.has(callback)));
    if (withOsm) this.osmBaseUrl = `${this.apiUrl}/osm`;
  }

  /**
   * Lets the shop's backend send order commands: invoke the IAM-authorized command routes (SigV4)
   * and put `Capture Order` … events on the order bus.
   */
  grantCommands(grantee: IGrantable): Grant {
    if (!this.commands) throw new Error('The order lifecycle is left out: there are no order commands to grant');
    return this.commands.grantCommands(grantee);
  }

  /**
   * Lets the shop's backend write the rules of single orders (scopes `order#<order_id>`): get,
   * put and delete those items, and only those (IAM `dynamodb:LeadingKeys`). With
   * `{ allScopes: true }` also the `default` scope, for a tool that manages the shop-wide rules.
   */
  grantRulesWrite(grantee: IGrantable, options: { readonly allScopes?: boolean } = {}): Grant {
    const actions = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem'];
    if (options.allScopes) return this.rulesTable.grant(grantee, ...actions);
    return Grant.addToPrincipal({
      grantee,
      actions,
      resourceArns: [this.rulesTable.tableArn],
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['order#*'] } },
    });
  }
}

/**
 * This repository's own app (bin/app.ts): one KlarnaCheckoutBackend with the id `Default`, which
 * CloudFormation logical ids leave out, so a stack deployed before the construct existed keeps
 * every resource; and the outputs a merchant reads after `cdk deploy`.
 */
export class KlarnaStack extends Stack {
  readonly backend: KlarnaCheckoutBackend;

  constructor(scope: Construct, id: string, props: KlarnaStackProps = {}) {
    super(scope, id, props);
    const backend = new KlarnaCheckoutBackend(this, 'Default', props);
    this.backend = backend;
    new CfnOutput(this, 'ApiUrl', { value: backend.apiUrl, description: 'Base URL of the API' });
    for (const [callback, url] of Object.entries(backend.merchantUrls)) {
      new CfnOutput(this, `MerchantUrl${pascal(callback)}`, {
        value: url,
        description: `merchant_urls.${callback}: replace ${tokenPlaceholder} with a token from the KcoCallbackTokens secret`,
      });
    }
    if (backend.osmBaseUrl) new CfnOutput(this, 'OsmBaseUrl', { value: backend.osmBaseUrl, description: 'Base URL of the On-site messaging routes' });
    for (const [def, table] of backend.tables) {
      new CfnOutput(this, `${def.id}Name`, { value: table.tableName, description: `${def.id} (env ${def.envVar})` });
    }
    new CfnOutput(this, 'KcoCallbackTokensSecretArn', { value: backend.secrets.callbackTokens.secretArn });
    if (backend.secrets.osmCredentials) new CfnOutput(this, 'OsmCredentialsSecretArn', { value: backend.secrets.osmCredentials.secretArn });
    if (backend.secrets.orderManagementCredentials) {
      new CfnOutput(this, 'OrderManagementCredentialsSecretArn', { value: backend.secrets.orderManagementCredentials.secretArn });
    }
    if (backend.eventBus) {
      new CfnOutput(this, 'OrderEventBusName', { value: backend.eventBus.eventBusName, description: 'EventBridge bus of the order and rules events (source klarna-serverless)' });
    }
    new CfnOutput(this, 'AlarmTopicArn', { value: backend.alarmTopic.topicArn });
    new CfnOutput(this, 'DashboardName', { value: backend.dashboard.dashboardName });
  }

  /** The construct's functions, tables and order lifecycle, as the tests read them. */
  get functions(): ReadonlyMap<FunctionDefinition, KlarnaFunction> {
    return this.backend.functions;
  }
  get tables(): ReadonlyMap<TableDefinition, Table> {
    return this.backend.tables;
  }
  get api(): RestApi {
    return this.backend.api;
  }
  get orders(): OrderLifecycle {
    if (!this.backend.orders) throw new Error('the order lifecycle is left out of this stack');
    return this.backend.orders;
  }
  get rulesChecker(): RulesChecker {
    return this.backend.rulesChecker;
  }
  get commands(): OrderCommands {
    if (!this.backend.commands) throw new Error('the order lifecycle is left out of this stack');
    return this.backend.commands;
  }

  /** Lets `grantee` (the shop's backend) send order commands: the IAM routes and the bus events. */
  grantCommands(grantee: IGrantable): Grant {
    return this.backend.grantCommands(grantee);
  }
}
