/**
 * The order's life after the purchase, as infrastructure: the Order Management credentials, the
 * settings the push and notification functions share, and (OrderLifecycle) the event bus, the
 * stream publisher, the sweeper and their alarms. The stack builds the push and notification
 * functions from the route table like every other function and hands them here.
 */
import { Duration, SecretValue, Validations } from 'aws-cdk-lib';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';

/**
 * The push and notification functions read the order from Klarna and acknowledge it within the
 * request: up to ORDERS_WORK_MS (8 s) of Klarna calls with retries, plus a cold start. 10 s
 * bounds that well below API Gateway's 29 s.
 */
export const orderFunctionTimeout = Duration.seconds(10);

export const orderManagementSecretEnvVar = 'KCO_API_CREDENTIALS_SECRET_ARN';

/** Which Order Management host: Kustom (default) or Klarna's regions; playground unless told. */
export type OrderManagementSettings = {
  readonly provider?: 'kustom' | 'klarna';
  readonly region?: 'eu' | 'na' | 'oc';
  readonly environment?: 'playground' | 'production';
  /** Days an order is kept in the orders table (TTL). Default 90. */
  readonly retentionDays?: number;
};

export const orderManagementEnvironment = (settings: OrderManagementSettings = {}): Record<string, string> =>
  Object.fromEntries(
    Object.entries({
      KCO_API_PROVIDER: settings.provider,
      KCO_API_REGION: settings.region,
      KCO_API_ENVIRONMENT: settings.environment,
      ORDERS_RETENTION_DAYS: settings.retentionDays === undefined ? undefined : String(settings.retentionDays),
    }).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );

/** `{"username": "", "password": ""}` or `{"api_key": ""}`: filled in by the merchant after deploy. */
export const createOrderManagementSecret = (scope: Construct): Secret => {
  const secret = new Secret(scope, 'OrderManagementCredentials', {
    description:
      'Order Management API credentials: {"username": "...", "password": "..."} (Klarna or Kustom) or {"api_key": "kco_live_api_..."} (Kustom).',
    secretObjectValue: {
      username: SecretValue.unsafePlainText(''),
      password: SecretValue.unsafePlainText(''),
      api_key: SecretValue.unsafePlainText(''),
    },
  });
  Validations.of(secret).acknowledge({
    id: 'AwsSolutions-SMG4',
    reason:
      'Klarna and Kustom issue these API credentials in their merchant portals; no Lambda can rotate them. The merchant replaces the value when new ones are issued.',
  });
  return secret;
};
