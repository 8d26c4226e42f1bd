/**
 * THE route table: every HTTP route, the handler that serves it and what that handler may touch.
 * The CDK stack builds API Gateway and the Lambda functions from it; the local server (`npm start`)
 * serves the same paths with the same handlers, so the two can never disagree.
 * Paths use API Gateway's `{param}` syntax.
 */
import { ordersTable, placementsTable, rulesTable, type TableDefinition } from './tables.js';

export type HttpMethod = 'GET' | 'POST';

export type FunctionDefinition = {
  /** Construct id of the Lambda function. */
  readonly id: string;
  /** Handler module, relative to the project root; it exports `handler`. */
  readonly entry: string;
  /** Tables the function uses and how: least privilege is derived from this. */
  readonly tables: readonly { readonly table: TableDefinition; readonly access: TableAccess }[];
  /** Which secret the function reads (callback tokens or OSM credentials). */
  readonly secret: 'callbackTokens' | 'osmCredentials';
  /** Also reads the Order Management API credentials and calls Klarna's Order Management API. */
  readonly orderManagement?: boolean;
};

/** `record`: get, create and update items, never delete (the orders table). */
export type TableAccess = 'read' | 'readWrite' | 'osmCache' | 'record';

export type RouteDefinition = {
  readonly method: HttpMethod;
  readonly path: string;
  readonly fn: FunctionDefinition;
};

const kcoCallback = (name: string, file: string): FunctionDefinition => ({
  id: name,
  entry: `functions/kco/handlers/${file}.ts`,
  tables: [{ table: rulesTable, access: 'read' }],
  secret: 'callbackTokens',
});

const orderFunction = (id: string, file: string): FunctionDefinition => ({
  id,
  entry: `functions/orders/handlers/${file}.ts`,
  tables: [
    { table: ordersTable, access: 'record' },
    { table: rulesTable, access: 'read' },
  ],
  secret: 'callbackTokens',
  orderManagement: true,
});

export const functions = {
  addressUpdate: kcoCallback('AddressUpdateFunction', 'address-update'),
  countryChange: kcoCallback('CountryChangeFunction', 'country-change'),
  shippingOptionUpdate: kcoCallback('ShippingOptionUpdateFunction', 'shipping-option-update'),
  validation: kcoCallback('ValidationFunction', 'validation'),
  osmPlacement: {
    id: 'OsmPlacementFunction',
    entry: 'functions/osm/placement.ts',
    // GetItem and PutItem (cached placements, impression tokens), DeleteItem (redeeming a token).
    tables: [{ table: placementsTable, access: 'osmCache' }],
    secret: 'osmCredentials',
  },
  orderPush: orderFunction('OrderPushFunction', 'push'),
  orderNotification: orderFunction('OrderNotificationFunction', 'notification'),
} as const satisfies Record<string, FunctionDefinition>;

/** After the purchase: Klarna's push and fraud notification; `name` is the URL's last segment. */
export const orderRoutes = [
  { name: 'push', fn: functions.orderPush },
  { name: 'notification', fn: functions.orderNotification },
] as const;

/** The KCO callbacks, in the order Klarna meets them; `callback` is the URL's last segment. */
export const kcoCallbacks = [
  { callback: 'address_update', fn: functions.addressUpdate },
  { callback: 'country_change', fn: functions.countryChange },
  { callback: 'shipping_option_update', fn: functions.shippingOptionUpdate },
  { callback: 'validation', fn: functions.validation },
] as const;

export const routes: readonly RouteDefinition[] = [
  ...kcoCallbacks.map(({ callback, fn }) => ({
    method: 'POST' as const,
    path: `/kco/orders/{order_id}/${callback}`,
    fn,
  })),
  ...orderRoutes.map(({ name, fn }) => ({ method: 'POST' as const, path: `/kco/orders/{order_id}/${name}`, fn })),
  // One path serves JSON and, for `{placement_key}.html` or `Accept: text/html`, the HTML alone.
  { method: 'GET', path: '/osm/placements/{placement_key}', fn: functions.osmPlacement },
  { method: 'POST', path: '/osm/impressions', fn: functions.osmPlacement },
];

/** What the merchant pastes into `merchant_urls`, given the API's base URL and a token. */
export const merchantUrls = (baseUrl: string, token: string): Record<string, string> =>
  Object.fromEntries(
    [...kcoCallbacks.map(({ callback }) => callback), ...orderRoutes.map(({ name }) => name)].map((callback) => [
      callback,
      `${baseUrl.replace(/\/$/, '')}/kco/orders/{checkout.order.id}/${callback}?token=${encodeURIComponent(token)}`,
    ]),
  );

/**
 * The shop's own commands on an order (issue 24): one function serves them all. Kept apart from
 * `routes` because they are authorized differently: IAM (SigV4) when deployed, through
 * lib/order-commands.ts (`grantCommands`), and open under `npm start` (its banner says so).
 */
export type CommandRouteDefinition = {
  readonly method: HttpMethod;
  readonly path: string;
  readonly fn: { readonly id: string; readonly entry: string };
};

export const orderCommandsFunction = { id: 'OrderCommandsFunction', entry: 'functions/orders/handlers/command-http.ts' } as const;
/** The EventBridge twin of the command routes (detail-types `Capture Order` …). */
export const orderCommandEventsFunction = { id: 'OrderCommandEventsFunction', entry: 'functions/orders/handlers/command-event.ts' } as const;
/** Publishes each booked command's event from the ledger table's stream. */
export const orderCommandPublisherFunction = { id: 'OrderCommandEventsPublisherFunction', entry: 'functions/orders/handlers/publish-command-events.ts' } as const;

export const commandRoutes = [
  { method: 'GET', path: '/orders/{order_id}', fn: orderCommandsFunction },
  { method: 'POST', path: '/orders/{order_id}/captures', fn: orderCommandsFunction },
  { method: 'POST', path: '/orders/{order_id}/captures/{capture_id}/shipping-info', fn: orderCommandsFunction },
  { method: 'POST', path: '/orders/{order_id}/refunds', fn: orderCommandsFunction },
  { method: 'POST', path: '/orders/{order_id}/cancel', fn: orderCommandsFunction },
  { method: 'POST', path: '/orders/{order_id}/release', fn: orderCommandsFunction },
  { method: 'POST', path: '/orders/{order_id}/extend', fn: orderCommandsFunction },
] as const satisfies readonly CommandRouteDefinition[];
