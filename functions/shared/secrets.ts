/**
 * Secrets from AWS Secrets Manager, read once per container and kept for SECRETS_CACHE_SECONDS
 * (default 300): a rotated or newly filled-in secret reaches warm containers within minutes,
 * without a Secrets Manager call per request. Callback tokens are a list, so rotation overlaps.
 * Locally and in tests the same values come from plain environment variables instead.
 */
import { intEnv, optionalEnv } from './config.js';

type Cached = { value: Promise<Record<string, unknown>>; readAt: number };
const cache = new Map<string, Cached>();
const maxAgeMs = intEnv('SECRETS_CACHE_SECONDS', 300, { max: 86_400 }) * 1000;

let client: Promise<{ read: (secretArn: string) => Promise<string | undefined> }> | undefined;
// Loaded lazily: local runs and tests never pay for the Secrets Manager client.
const secretsManager = () =>
  (client ??= import('@aws-sdk/client-secrets-manager').then(({ SecretsManagerClient, GetSecretValueCommand }) => {
    const sdk = new SecretsManagerClient({ maxAttempts: 2 });
    return { read: async (SecretId: string) => (await sdk.send(new GetSecretValueCommand({ SecretId }))).SecretString };
  }));

const fetchSecret = async (secretArn: string): Promise<Record<string, unknown>> => {
  const parsed: unknown = JSON.parse((await (await secretsManager()).read(secretArn)) ?? '{}');
  if (typeof parsed !== 'object' || parsed === null) throw new Error('Secret is not a JSON object');
  return parsed as Record<string, unknown>;
};

export const readSecretJson = (secretArn: string, now: () => number = Date.now): Promise<Record<string, unknown>> => {
  const cached = cache.get(secretArn);
  if (cached && now() - cached.readAt < maxAgeMs) return cached.value;
  const fresh = fetchSecret(secretArn);
  // A failed refresh keeps the last good value (and is tried again next time); a failed first
  // read is not cached at all.
  const value = cached ? fresh.catch(() => cached.value) : fresh;
  const entry = { value, readAt: now() };
  cache.set(secretArn, entry);
  fresh.catch(() => {
    if (cache.get(secretArn) === entry) {
      if (cached) cache.set(secretArn, { value: cached.value, readAt: cached.readAt });
      else cache.delete(secretArn);
    }
  });
  return value;
};

const splitList = (value: string): string[] =>
  value
    .split(',')
    .map((token) => token.trim())
    .filter((token) => token.length > 0);

/**
 * The accepted KCO callback tokens: `KCO_CALLBACK_TOKENS` (comma-separated) when set, else the
 * `tokens` array of the secret named by `KCO_CALLBACK_TOKENS_SECRET_ARN`. No tokens configured
 * means every callback is refused: the check fails closed.
 */
export const callbackTokens = async (): Promise<readonly string[]> => {
  const inline = optionalEnv('KCO_CALLBACK_TOKENS');
  if (inline !== undefined) return splitList(inline);
  const arn = optionalEnv('KCO_CALLBACK_TOKENS_SECRET_ARN');
  if (arn === undefined) return [];
  const secret = await readSecretJson(arn);
  const tokens = secret.tokens;
  if (Array.isArray(tokens)) return tokens.filter((t): t is string => typeof t === 'string' && t.length > 0);
  if (typeof tokens === 'string') return splitList(tokens);
  return [];
};
