/**
 * Environment, read and checked once per container. A missing required variable throws at cold
 * start (the function fails loudly on deploy) rather than answering wrongly later.
 */
const read = (name: string): string | undefined => {
  const value = process.env[name];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
};

export const requireEnv = (name: string): string => {
  const value = read(name);
  if (value === undefined) throw new Error(`Missing required environment variable ${name}`);
  return value;
};

export const optionalEnv = (name: string): string | undefined => read(name);

export const intEnv = (name: string, fallback: number, { min = 0, max = Number.MAX_SAFE_INTEGER } = {}): number => {
  const raw = read(name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`Environment variable ${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return value;
};

/** DynamoDB endpoint override: DynamoDB Local for `npm start` and the tests. */
export const dynamoDbEndpoint = (): string | undefined => read('DYNAMODB_ENDPOINT');

/**
 * An absolute http(s) base URL from the setting `name`, without trailing slashes (paths are
 * appended to it). Throws at cold start for anything else. The slashes come off in a loop: the
 * pattern `/\/+$/` would backtrack polynomially.
 */
export const httpBaseUrl = (value: string, name: string): string => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`${name} must be an absolute http(s) URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`${name} must be an absolute http(s) URL`);
  let href = url.href;
  while (href.endsWith('/')) href = href.slice(0, -1);
  return href;
};
