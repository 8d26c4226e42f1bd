/**
 * Empty Order Management credentials are reported the same way by every function that calls
 * Klarna (the lifecycle's push, notification and sweeper, and the order commands): one error line
 * with the step's fields and one count of the metric their alarm reads.
 */
export {};
type Module = typeof import('../../functions/orders/handlers/credentials-missing.js');
type Log = typeof import('../../functions/shared/log.js');

const loadReporting = (): { report: Module['reportedCredentialsMissing']; logger: Log['logger'] } => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  let loaded: { report: Module['reportedCredentialsMissing']; logger: Log['logger'] } | undefined;
  jest.isolateModules(() => {
    loaded = {
      report: jest.requireActual<Module>('../../functions/orders/handlers/credentials-missing.js').reportedCredentialsMissing,
      logger: jest.requireActual<Log>('../../functions/shared/log.js').logger,
    };
  });
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  return loaded!;
};

const metricLines = (run: () => unknown): { result: unknown; names: string[] } => {
  const chunks: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  });
  let result: unknown;
  try {
    result = run();
  } finally {
    spy.mockRestore();
  }
  const names = chunks
    .join('')
    .split('\n')
    .filter((line) => line.includes('"_aws"'))
    .flatMap((line) => (JSON.parse(line) as { _aws: { CloudWatchMetrics: { Metrics: { Name: string }[] }[] } })._aws.CloudWatchMetrics.flatMap((d) => d.Metrics.map((m) => m.Name)));
  return { result, names };
};

it('logs an error and counts OrderManagementCredentialsMissing for credentials_missing, whatever the step', () => {
  const { report, logger } = loadReporting();
  const error = jest.spyOn(logger, 'error').mockImplementation(() => undefined);
  for (const step of ['read_failed', 'command_failed']) {
    expect(metricLines(() => report('credentials_missing', step, { order_id: 'o-1' }))).toEqual({ result: true, names: ['OrderManagementCredentialsMissing'] });
  }
  expect(error.mock.calls).toEqual([
    ['Order Management credentials missing', { step: 'read_failed', order_id: 'o-1' }],
    ['Order Management credentials missing', { step: 'command_failed', order_id: 'o-1' }],
  ]);
  error.mockRestore();
});

it('leaves every other failure to the caller: no line, no count', () => {
  const { report, logger } = loadReporting();
  const error = jest.spyOn(logger, 'error').mockImplementation(() => undefined);
  for (const failure of ['network', 'timeout', 'status', undefined]) {
    expect(metricLines(() => report(failure, 'command_failed', {}))).toEqual({ result: false, names: [] });
  }
  expect(error).not.toHaveBeenCalled();
  error.mockRestore();
});
