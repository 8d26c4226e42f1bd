/**
 * The floor plus what one invocation of ours cannot avoid either: the first DynamoDB request of a
 * fresh process (lazy SDK code, signing, the TCP connection), as one GetItem of the default rules.
 * Bundled like cold-floor.ts; configured like our functions are locally (endpoint, credentials).
 */
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';

const endpoint = process.env.DYNAMODB_ENDPOINT;
const client = new DynamoDBClient(
  endpoint ? { endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, region: process.env.AWS_REGION ?? 'eu-north-1' } : {},
);

export const handler = async (): Promise<{ statusCode: number; body: string }> => {
  const output = await client.send(new GetItemCommand({ TableName: process.env.RULES_TABLE, Key: { scope: { S: 'default' } } }));
  return { statusCode: output.Item ? 200 : 404, body: '' };
};
