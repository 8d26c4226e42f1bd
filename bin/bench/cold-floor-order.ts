/**
 * The order functions' cold-start floor: the requests one pass over an order cannot avoid, made
 * by a bundle (built like cold-floor.ts) that holds nothing but the DynamoDB client and `fetch`.
 * `event.requests` says which pass:
 *   notification  read the order's record (GetItem) and the order from Klarna (GET): a fraud
 *                 notification for an order already acknowledged, whose fraud status is unchanged
 *   push          a push of a new order: those two, then record it (a conditional PutItem), read its
 *                 rules (one BatchGetItem of both scopes), take the acknowledge lease (UpdateItem),
 *                 acknowledge it at Klarna (POST) and mark it acknowledged (UpdateItem)
 * No parsing, checking or logging of ours: what is left above this floor is our code.
 */
import { BatchGetItemCommand, DynamoDBClient, GetItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';

const endpoint = process.env.DYNAMODB_ENDPOINT;
const client = new DynamoDBClient(
  endpoint ? { endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, region: process.env.AWS_REGION ?? 'eu-north-1' } : {},
);
const authorization = `Basic ${Buffer.from(`${process.env.KCO_API_USERNAME}:${process.env.KCO_API_PASSWORD}`).toString('base64')}`;

type FloorEvent = { pathParameters: { order_id: string }; requests: 'notification' | 'push' };

export const handler = async (event: FloorEvent): Promise<{ statusCode: number; body: string }> => {
  const orderId = event.pathParameters.order_id;
  const orders = process.env.ORDERS_TABLE;
  const key = { order_id: { S: orderId } };
  const orderUrl = `${process.env.KCO_API_BASE_URL}/ordermanagement/v1/orders/${orderId}`;
  await client.send(new GetItemCommand({ TableName: orders, Key: key, ConsistentRead: true }));
  const read = await fetch(orderUrl, { headers: { authorization, accept: 'application/json' } });
  const order = await read.text();
  if (event.requests === 'notification') return { statusCode: read.status, body: '' };

  const now = new Date().toISOString();
  await client.send(
    new PutItemCommand({
      TableName: orders,
      Item: { ...key, status: { S: 'recorded' }, awaiting: { S: 'yes' }, recorded_at: { S: now }, order: { S: order } },
      ConditionExpression: 'attribute_not_exists(order_id)',
    }),
  );
  const rules = process.env.RULES_TABLE ?? '';
  await client.send(new BatchGetItemCommand({ RequestItems: { [rules]: { Keys: [{ scope: { S: 'default' } }, { scope: { S: `order#${orderId}` } }] } } }));
  await client.send(
    new UpdateItemCommand({
      TableName: orders,
      Key: key,
      UpdateExpression: 'SET ack_lease_until = :until',
      ConditionExpression: 'attribute_not_exists(ack_lease_until)',
      ExpressionAttributeValues: { ':until': { N: String(Date.now() + 8000) } },
    }),
  );
  const acknowledged = await fetch(`${orderUrl}/acknowledge`, { method: 'POST', headers: { authorization, 'klarna-idempotency-key': orderId } });
  await acknowledged.arrayBuffer();
  await client.send(
    new UpdateItemCommand({
      TableName: orders,
      Key: key,
      UpdateExpression: 'SET #status = :acknowledged REMOVE awaiting, ack_lease_until',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':acknowledged': { S: 'acknowledged' } },
    }),
  );
  return { statusCode: acknowledged.status === 204 ? 200 : 502, body: '' };
};
