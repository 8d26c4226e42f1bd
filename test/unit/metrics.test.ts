/**
 * The metric lines the functions write: CloudWatch embedded metric format, one line per count,
 * in our namespace, with the dimension sets the alarms and the dashboard read, and every
 * dimension value bounded to a known list.
 */
type Emf = {
  _aws: { Timestamp: number; CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] };
  [key: string]: unknown;
};

const load = () => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  let module: typeof import('../../functions/shared/metrics.js') | undefined;
  jest.isolateModules(() => {
    module = jest.requireActual<typeof import('../../functions/shared/metrics.js')>('../../functions/shared/metrics.js');
  });
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  return module!;
};

/** The EMF lines written to stdout while `run` runs. */
const emitted = (run: () => void): Emf[] => {
  const lines: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  });
  try {
    run();
  } finally {
    spy.mockRestore();
  }
  return lines.join('').split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line) as Emf);
};

const shape = (emf: Emf) => {
  const [directive] = emf._aws.CloudWatchMetrics;
  const { _aws, ...values } = emf;
  return { namespace: directive?.Namespace, dimensions: directive?.Dimensions, metrics: directive?.Metrics, values };
};

// Loaded once with metrics on; the module keeps no state between counts.
const metrics = load();
const countDecision = metrics.callbackDecisionCounter(['po_box', 'too_many_lines']);

describe('callback decisions', () => {
  it('writes nothing but the metric line: no warning about a key shared by the dimension sets', () => {
    const warnings: string[] = [];
    const warn = jest.spyOn(console, 'warn').mockImplementation((...content: unknown[]) => void warnings.push(String(content[0])));
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      warnings.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    });
    try {
      expect(emitted(() => countDecision('address_update', 'refuse', 'too_many_lines'))).toHaveLength(1);
      expect(warnings).toEqual([]);
    } finally {
      warn.mockRestore();
      stderr.mockRestore();
    }
  });

  it('counts one decision per line under callback × decision × reason, reason alone and decision alone', () => {
    const lines = emitted(() => countDecision('validation', 'deny', 'po_box'));
    expect(lines.map(shape)).toEqual([
      {
        namespace: 'KlarnaServerless',
        dimensions: [
          ['service', 'callback', 'decision', 'reason'],
          ['service', 'reason'],
          ['service', 'decision'],
        ],
        metrics: [{ Name: 'CallbackDecision', Unit: 'Count' }],
        values: { service: 'klarna-serverless', callback: 'validation', decision: 'deny', reason: 'po_box', CallbackDecision: 1 },
      },
    ]);
  });

  it('counts a decision without a reason as reason "none", and each call on its own line', () => {
    const lines = emitted(() => {
      countDecision('address_update', 'update', undefined);
      countDecision('address_update', 'update', undefined);
    });
    expect(lines.map((line) => [line.reason, line.decision, line.CallbackDecision])).toEqual([
      ['none', 'update', 1],
      ['none', 'update', 1],
    ]);
  });

  it.each(['rules_missing', 'rules_invalid', 'rules_unavailable', 'internal_error', 'tokens_unavailable'])(
    'keeps the fail-closed reason %s as it is (each has its alarm)',
    (reason) => {
        expect(metrics.failClosedReasons).toContain(reason);
      expect(emitted(() => countDecision('validation', 'error', reason))[0]?.reason).toBe(reason);
    },
  );

  it('bounds every dimension: an unknown callback, decision or reason is counted as "other"', () => {
    const [line] = emitted(() => countDecision('evil<script>', 'maybe', 'Robert"); DROP TABLE'));
    expect([line?.callback, line?.decision, line?.reason]).toEqual(['other', 'other', 'other']);
  });
});

describe('OSM and order steps', () => {
  it.each(['hit', 'miss', 'stale', 'error'] as const)('counts the OSM outcome %s', (outcome) => {
    expect(emitted(() => metrics.countOsmOutcome(outcome)).map(shape)).toEqual([
      {
        namespace: 'KlarnaServerless',
        dimensions: [['service', 'outcome']],
        metrics: [{ Name: 'OsmRequest', Unit: 'Count' }],
        values: { service: 'klarna-serverless', outcome, OsmRequest: 1 },
      },
    ]);
  });

  it('counts an unknown OSM outcome as "other"', () => {
    expect(emitted(() => metrics.countOsmOutcome('bypass' as never))[0]?.outcome).toBe('other');
  });

  it('counts every OSM request where the OSM handler records its outcome', () => {
    // The module builds its handler at load: it needs the environment the stack gives it.
    const saved = { ...process.env };
    Object.assign(process.env, { POWERTOOLS_METRICS_DISABLED: 'false', PLACEMENTS_TABLE: 'placements', OSM_BASE_URL: 'http://127.0.0.1:9' });
    let placement: typeof import('../../functions/osm/placement.js') | undefined;
    try {
      jest.isolateModules(() => {
        placement = jest.requireActual<typeof import('../../functions/osm/placement.js')>('../../functions/osm/placement.js');
      });
    } finally {
      process.env = saved;
    }
    const lines = emitted(() => {
      placement!.recordOutcome({ result: { statusCode: 200, body: '' }, outcome: 'stale' });
      placement!.recordOutcome({ result: { statusCode: 502, body: '' }, outcome: 'error' });
    });
    expect(lines.filter((line) => 'OsmRequest' in line).map((line) => [line.outcome, line.OsmRequest])).toEqual([
      ['stale', 1],
      ['error', 1],
    ]);
  });

  it('counts missing Order Management credentials under the service alone (their alarm)', () => {
    const [line] = emitted(() => metrics.countCredentialsMissing());
    expect(line && shape(line)).toMatchObject({
      namespace: 'KlarnaServerless',
      dimensions: [['service']],
      metrics: [{ Name: 'OrderManagementCredentialsMissing', Unit: 'Count' }],
      values: { service: 'klarna-serverless', OrderManagementCredentialsMissing: 1 },
    });
  });

  it('counts an order step with its outcome', () => {
    const [line] = emitted(() => metrics.countOrderStep('capture', 'retry'));
    expect([line?.step, line?.outcome, line?.OrderStep]).toEqual(['capture', 'retry', 1]);
  });
});

describe('order commands and the expiry sweep', () => {
  // The alarms OrderCommandFailedAlarm and AuthorizationExpiredWithBalanceAlarm read these names
  // in the namespace without dimensions (lib/order-commands.ts): no `service` may creep in.
  it('counts a command under command × outcome, and OrderCommandsFailed (0 or 1) without dimensions, as the alarm reads it', () => {
    const booked = emitted(() => metrics.countOrderCommand('capture', 'booked')).map(shape);
    expect(booked).toEqual([
      { namespace: 'KlarnaServerless', dimensions: [['command', 'outcome']], metrics: [{ Name: 'OrderCommands', Unit: 'Count' }], values: { command: 'capture', outcome: 'booked', OrderCommands: 1 } },
      { namespace: 'KlarnaServerless', dimensions: [[]], metrics: [{ Name: 'OrderCommandsFailed', Unit: 'Count' }], values: { OrderCommandsFailed: 0 } },
    ]);
    const failed = emitted(() => metrics.countOrderCommand('refund', 'failed')).map(shape);
    expect(failed.map((line) => line.values)).toEqual([{ command: 'refund', outcome: 'failed', OrderCommands: 1 }, { OrderCommandsFailed: 1 }]);
  });

  it('bounds the command dimension: every command kind is its own value, anything else is "other"', async () => {
    const { commandKinds } = await import('../../functions/orders/commands/command.js');
    for (const kind of commandKinds) expect(emitted(() => metrics.countOrderCommand(kind, 'refused'))[0]?.command).toBe(kind);
    expect(emitted(() => metrics.countOrderCommand('unknown', 'invalid'))[0]?.command).toBe('unknown');
    expect(emitted(() => metrics.countOrderCommand('drop-table', 'invalid'))[0]?.command).toBe('other');
  });

  it('counts the orders a sweep found expired with authorization left without dimensions (its alarm)', () => {
    expect(emitted(() => metrics.countExpiredWithBalance(2)).map(shape)).toEqual([
      { namespace: 'KlarnaServerless', dimensions: [[]], metrics: [{ Name: 'AuthorizationsExpiredWithBalance', Unit: 'Count' }], values: { AuthorizationsExpiredWithBalance: 2 } },
    ]);
  });
});

it('writes nothing when metrics are disabled (as in the other tests)', () => {
  let module: typeof import('../../functions/shared/metrics.js') | undefined;
  jest.isolateModules(() => {
    module = jest.requireActual<typeof import('../../functions/shared/metrics.js')>('../../functions/shared/metrics.js');
  });
  expect(emitted(() => module!.callbackDecisionCounter(['po_box'])('validation', 'approve', undefined))).toEqual([]);
});
