/**
 * The floor plus the same GetItem as cold-floor-request.ts, sent as a bare HTTP POST with
 * node:http instead of through the SDK: what the network, the counting proxy and DynamoDB Local
 * cost a fresh process on their own. A reference for the bench, not a way to call DynamoDB: the
 * request is unsigned, which DynamoDB Local accepts and AWS never would.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { request } from 'node:http';

export const client = new DynamoDBClient({});

export const handler = (): Promise<{ statusCode: number; body: string }> =>
  new Promise((resolve, reject) => {
    const body = JSON.stringify({ TableName: process.env.RULES_TABLE, Key: { scope: { S: 'default' } } });
    const post = request(
      process.env.DYNAMODB_ENDPOINT ?? 'http://127.0.0.1:8000',
      {
        method: 'POST',
        headers: {
          'content-type': 'application/x-amz-json-1.0',
          'x-amz-target': 'DynamoDB_20120810.GetItem',
          authorization: 'AWS4-HMAC-SHA256 Credential=local/20260101/eu-north-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0',
        },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => resolve({ statusCode: (JSON.parse(text) as { Item?: unknown }).Item ? 200 : 404, body: '' }));
      },
    );
    post.on('error', reject);
    post.end(body);
  });
