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
