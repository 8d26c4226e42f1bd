/**
 * The cold-start floor (bundled by bin/bench/cold.ts with the stack's own esbuild options): a
 * Lambda module that imports and constructs the DynamoDB client and does nothing else. No
 * function that reads DynamoDB can load faster.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';

export const client = new DynamoDBClient({});

export const handler = async (): Promise<{ statusCode: number; body: string }> => ({ statusCode: 200, body: '' });
