/**
 * The construct's dead-letter queues, built one way: what a trigger, a target or a publisher gave
 * up on is kept 14 days (SQS-managed encryption, TLS only) and alarmed as soon as one message is
 * in it. Nothing redrives them automatically: an operator reads them (docs/operations.md).
 */
import { Duration, Validations } from 'aws-cdk-lib';
import { ComparisonOperator, Stats, type Alarm } from 'aws-cdk-lib/aws-cloudwatch';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { AlarmFactory } from './monitoring.js';

/**
 * A dead-letter queue `id` in `scope`. The id makes the queue's logical id: a new id replaces the
 * queue (and drops its messages) in every deployed stack. `nagReason` says why the queue has no
 * dead-letter queue of its own (cdk-nag AwsSolutions-SQS3).
 */
export const deadLetterQueue = (scope: Construct, id: string, nagReason: string): Queue => {
  const queue = new Queue(scope, id, { encryption: QueueEncryption.SQS_MANAGED, enforceSSL: true, retentionPeriod: Duration.days(14) });
  Validations.of(queue).acknowledge({ id: 'AwsSolutions-SQS3', reason: nagReason });
  return queue;
};

/**
 * The alarm on a dead-letter queue: one message visible within five minutes. Made where the
 * caller makes its other alarms, so the dashboard's alarm list keeps its order.
 */
export const deadLetterAlarm = (alarm: AlarmFactory, id: string, queue: Queue, description: string): Alarm =>
  alarm(id, {
    metric: queue.metricApproximateNumberOfMessagesVisible({ statistic: Stats.MAXIMUM, period: Duration.minutes(5) }),
    threshold: 1,
    comparison: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    description,
  });
