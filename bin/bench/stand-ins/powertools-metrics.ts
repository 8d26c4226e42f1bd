/**
 * Benchmark only (bin/bench/paired-cold.ts): what hand-written CloudWatch embedded-metric-format
 * lines in place of Powertools Metrics would cost: the same line per count (every dimension set,
 * the namespace, the service dimension, a timestamp), written to stdout. No validation of names,
 * units or limits, no batching. Never bundled into a function.
 */
export const MetricUnit = { Count: 'Count' } as const;

export class Metrics {
  readonly #namespace: string;
  readonly #service: string;
  #dimensionSets: Record<string, string>[] = [];
  #metrics: { name: string; unit: string; value: number }[] = [];

  constructor(options: { namespace: string; serviceName: string }) {
    this.#namespace = options.namespace;
    this.#service = options.serviceName;
  }

  addDimensions(dimensions: Record<string, string>): void {
    this.#dimensionSets.push(dimensions);
  }

  addMetric(name: string, unit: string, value: number): void {
    this.#metrics.push({ name, unit, value });
  }

  publishStoredMetrics(): void {
    const sets = this.#dimensionSets.length > 0 ? this.#dimensionSets : [{}];
    const line: Record<string, unknown> = {
      _aws: {
        Timestamp: Date.now(),
        CloudWatchMetrics: [
          {
            Namespace: this.#namespace,
            Dimensions: sets.map((set) => ['service', ...Object.keys(set)]),
            Metrics: this.#metrics.map(({ name, unit }) => ({ Name: name, Unit: unit })),
          },
        ],
      },
      service: this.#service,
    };
    for (const set of sets) Object.assign(line, set);
    for (const { name, value } of this.#metrics) line[name] = value;
    process.stdout.write(`${JSON.stringify(line)}\n`);
    this.#dimensionSets = [];
    this.#metrics = [];
  }
}
