/**
 * THE route table: every HTTP route, the handler that serves it and what that handler may touch.
 * The CDK stack builds API Gateway and the Lambda functions from it; the local server (`npm start`)
 * serves the same paths with the same handlers, so the two can never disagree.
 * Paths use API Gateway's `{param}` syntax.
 */
import { placementsTable, rulesTable, type TableDefinition } from './tables.js';

export type HttpMethod = 'GET' | 'POST';

export type FunctionDefinition = {
  /** Construct id of the Lambda function. */
  readonly id: string;
  /** Handler module, relative to the project root; it exports `handler`. */
  readonly entry: string;
  /** Tables the function uses and how: least privilege is derived from this. */
  readonly tables: readonly { readonly table: TableDefinition; readonly access: 'read' | 'readWrite' | 'osmCache' }[];
  /** Which secret the function reads (callback tokens or OSM credentials). */
  readonly secret: 'callbackTokens' | 'osmCredentials';
};

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
} as const satisfies Record<string, FunctionDefinition>;

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
  // One path serves JSON and, for `{placement_key}.html` or `Accept: text/html`, the HTML alone.
  { method: 'GET', path: '/osm/placements/{placement_key}', fn: functions.osmPlacement },
  { method: 'POST', path: '/osm/impressions', fn: functions.osmPlacement },
];

/** What the merchant pastes into `merchant_urls`, given the API's base URL and a token. */
export const merchantUrls = (baseUrl: string, token: string): Record<string, string> =>
  Object.fromEntries(
    kcoCallbacks.map(({ callback }) => [
      callback,
      `${baseUrl.replace(/\/$/, '')}/kco/orders/{checkout.order.id}/${callback}?token=${encodeURIComponent(token)}`,
    ]),
  );
