/**
 * The one DynamoDB document client of a container, created at module scope so warm invocations
 * reuse its connections. Timeouts and retries are bounded so a slow or unreachable DynamoDB
 * cannot eat Klarna's 3 s budget.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { dynamoDbEndpoint, intEnv } from './config.js';

/** The plain client, for code that writes DynamoDB's own attribute values (a stream image as it came). */
export const createDynamoDbClient = (endpoint = dynamoDbEndpoint()): DynamoDBClient => {
  const local = endpoint !== undefined;
  return new DynamoDBClient({
    ...(local
      ? {
          endpoint,
          region: process.env.AWS_REGION ?? 'eu-north-1',
          credentials: {
            accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? 'local',
            secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? 'local',
          },
        }
      : {}),
    maxAttempts: intEnv('DYNAMODB_MAX_ATTEMPTS', 2, { min: 1, max: 5 }),
    requestHandler: {
      connectionTimeout: intEnv('DYNAMODB_CONNECT_TIMEOUT_MS', 300, { min: 10, max: 10_000 }),
      requestTimeout: intEnv('DYNAMODB_REQUEST_TIMEOUT_MS', 700, { min: 10, max: 30_000 }),
      // Without this the SDK only prints a warning when requestTimeout passes and keeps waiting.
      throwOnRequestTimeout: true,
    },
  });
};

export const createDocumentClient = (endpoint = dynamoDbEndpoint()): DynamoDBDocumentClient =>
  DynamoDBDocumentClient.from(createDynamoDbClient(endpoint), {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
    unmarshallOptions: { wrapNumbers: false },
  });

let shared: DynamoDBDocumentClient | undefined;
/** The container's client, made on first use (tests may point DYNAMODB_ENDPOINT first). */
export const documentClient = (): DynamoDBDocumentClient => (shared ??= createDocumentClient());
