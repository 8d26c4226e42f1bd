/**
 * A stand-in for Amazon SQS's SendMessage (JSON protocol) on 127.0.0.1 (a free port), for the
 * dead-letter queue of refused order events: it keeps every message sent, per queue URL, and can
 * fail the next requests on demand.
 */
import { createHash, randomUUID } from 'node:crypto';
import { startLoopbackServer } from './loopback-server.js';

export type FakeSqs = {
  readonly url: string;
  /** Every message body received, in order, with its queue. */
  readonly messages: { queueUrl: string; body: string }[];
  /** Answer the next `count` requests with a 500. */
  failNextRequests(count: number): void;
  close(): Promise<void>;
};

export const startFakeSqs = async (): Promise<FakeSqs> => {
  let failRequests = 0;
  const messages: FakeSqs['messages'] = [];
  const loopback = await startLoopbackServer('fake SQS', (request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const reply = (status: number, body: unknown): void => {
        response.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': randomUUID() });
        response.end(JSON.stringify(body));
      };
      if (request.headers['x-amz-target'] !== 'AmazonSQS.SendMessage') return reply(400, { __type: 'com.amazonaws.sqs#UnsupportedOperation', message: 'fake SQS: SendMessage only' });
      if (failRequests > 0) {
        failRequests -= 1;
        return reply(500, { __type: 'com.amazonaws.sqs#InternalError', message: 'fake failure' });
      }
      const input = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { QueueUrl?: string; MessageBody?: string };
      const body = input.MessageBody ?? '';
      messages.push({ queueUrl: input.QueueUrl ?? '', body });
      reply(200, { MessageId: randomUUID(), MD5OfMessageBody: createHash('md5').update(body, 'utf8').digest('hex') });
    });
  });
  return {
    url: loopback.url,
    messages,
    failNextRequests(count) {
      failRequests += count;
    },
    close: () => loopback.close(),
  };
};
