/**
 * The AWS WAF web ACL in front of the API stage: one rate-based rule per source address that
 * never counts Klarna's published callback addresses, so one noisy client (a flood on /kco or on
 * /osm) is blocked before it reaches API Gateway's throttling, while Klarna's callbacks keep
 * their share. No managed rule group: those inspect bodies, and shoppers' addresses and free
 * text look like attacks to generic rules (a blocked validation callback fails the purchase).
 */
import { CfnIPSet, CfnWebACL, CfnWebACLAssociation } from 'aws-cdk-lib/aws-wafv2';
import type { Stage } from 'aws-cdk-lib/aws-apigateway';
import { Construct } from 'constructs';

export type EdgeProtectionProps = {
  readonly stage: Stage;
  /** Klarna's callback addresses as CIDRs (never counted by the rate rule). */
  readonly klarnaCidrs: readonly string[];
  /** Requests one source address may make in five minutes before it is blocked (for the next minutes). */
  readonly rateLimitPer5Minutes: number;
};

const visibility = (metricName: string): CfnWebACL.VisibilityConfigProperty => ({
  cloudWatchMetricsEnabled: true,
  metricName,
  sampledRequestsEnabled: false,
});

export class EdgeProtection extends Construct {
  readonly webAcl: CfnWebACL;

  constructor(scope: Construct, id: string, props: EdgeProtectionProps) {
    super(scope, id);
    const klarna = new CfnIPSet(this, 'KlarnaCallbackAddresses', {
      scope: 'REGIONAL',
      ipAddressVersion: 'IPV4',
      addresses: [...props.klarnaCidrs],
      // WAF descriptions allow letters, digits, spaces and =:#@/-,. only.
      description: 'Klarna KCO callback addresses, never counted by the per-address rate rule.',
    });
    this.webAcl = new CfnWebACL(this, 'WebAcl', {
      scope: 'REGIONAL',
      defaultAction: { allow: {} },
      description: 'Per-source-address rate limit in front of the Klarna callbacks and On-site messaging, no body inspection.',
      visibilityConfig: visibility('KlarnaApi'),
      rules: [
        {
          name: 'RatePerSourceAddress',
          priority: 0,
          action: { block: { customResponse: { responseCode: 429 } } },
          statement: {
            rateBasedStatement: {
              limit: props.rateLimitPer5Minutes,
              evaluationWindowSec: 300,
              aggregateKeyType: 'IP',
              scopeDownStatement: { notStatement: { statement: { ipSetReferenceStatement: { arn: klarna.attrArn } } } },
            },
          },
          visibilityConfig: visibility('RatePerSourceAddress'),
        },
      ],
    });
    const association = new CfnWebACLAssociation(this, 'StageAssociation', {
      resourceArn: props.stage.stageArn,
      webAclArn: this.webAcl.attrArn,
    });
    // The stage must exist before WAF can be attached to it.
    association.node.addDependency(props.stage);
  }
}
