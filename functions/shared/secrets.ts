/**
 * Secrets from AWS Secrets Manager, read once per container and kept (a rotated secret reaches
 * new containers; old ones keep working because callback tokens are a list). Locally and in
 * tests the same values come from plain environment variables instead.
 */
import { optionalEnv } from './config.js';

const cache = new Map<string, Promise<Record<string, unknown>>>();

export const readSecretJson = (secretArn: string): Promise<Record<string, unknown>> => {
  let pending = cache.get(secretArn);
  if (!pending) {
    pending = (async () => {
      // Loaded lazily: local runs and warm containers never pay for the Secrets Manager client.
      const { SecretsManagerClient, GetSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
      const client = new SecretsManagerClient({ maxAttempts: 2 });
      const out = await client.send(new GetSecretValueCommand({ SecretId: secretArn }));
      const parsed: unknown = JSON.parse(out.SecretString ?? '{}');
      if (typeof parsed !== 'object' || parsed === null) throw new Error('Secret is not a JSON object');
      return parsed as Record<string, unknown>;
    })();
    // A failed read is not cached: the next invocation tries again.
    pending.catch(() => cache.delete(secretArn));
    cache.set(secretArn, pending);
  }
  return pending;
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
