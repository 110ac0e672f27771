// Counters and histograms for the series bumped on every request. prom-client finds a series
// by hashing its label object on every inc() and observe() (a sort, a join and a string per
// call); these find it through a small tree of Maps keyed by the label values themselves, and
// count with plain number adds. They register with prom-client's Registry like any metric, and
// are rendered by it in the same text format at scrape time.
import type { Registry } from 'prom-client';

interface Value {
  readonly value: number;
  readonly labels: Record<string, string | number>;
  readonly metricName?: string;
}

interface MetricOptions<L extends string> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly L[];
  readonly registers: readonly Registry[];
}

/** Series by label values, one Map level per label, so a lookup allocates nothing. */
class SeriesTree<S> {
  private readonly root = new Map<string, unknown>();
  private readonly all: { labels: Record<string, string>; series: S }[] = [];
  private readonly labelNames: readonly string[];
  private readonly create: () => S;

  constructor(labelNames: readonly string[], create: () => S) {
    this.labelNames = labelNames;
    this.create = create;
  }

  /** The series for these label values (in labelNames order), made on first use. */
  at(a: string, b?: string, c?: string): S {
    const values = this.labelNames.length;
    let node = this.root;
    for (let i = 0; i < values - 1; i++) {
      const key = (i === 0 ? a : i === 1 ? b : c) as string;
      let next = node.get(key) as Map<string, unknown> | undefined;
      if (next === undefined) {
        next = new Map();
        node.set(key, next);
      }
      node = next;
    }
    const last = (values === 1 ? a : values === 2 ? b : c) as string;
    let series = node.get(last) as S | undefined;
    if (series === undefined) {
      series = this.create();
      node.set(last, series);
      const labels: Record<string, string> = {};
      this.labelNames.forEach((name, i) => {
        labels[name] = (i === 0 ? a : i === 1 ? b : c) as string;
      });
      this.all.push({ labels, series });
    }
    return series;
  }

  entries(): readonly { labels: Record<string, string>; series: S }[] {
    return this.all;
  }

  clear(): void {
    this.root.clear();
    this.all.length = 0;
  }
}

export class CounterSeries {
  value = 0;

  inc(by = 1): void {
    this.value += by;
  }
}

export class FastCounter<L extends string> {
  readonly name: string;
  readonly help: string;
  readonly type = 'counter';
  readonly aggregator = 'sum';
  private readonly tree: SeriesTree<CounterSeries>;
  private readonly labelNames: readonly L[];

  constructor(options: MetricOptions<L>) {
    this.name = options.name;
    this.help = options.help;
    this.labelNames = options.labelNames;
    this.tree = new SeriesTree(options.labelNames, () => new CounterSeries());
    for (const registry of options.registers) registry.registerMetric(this as never);
  }

  /** The series for these label values, in labelNames order; keep it to count with no lookup at all. */
  at(a: string, b?: string, c?: string): CounterSeries {
    return this.tree.at(a, b, c);
  }

  inc(labels: Record<L, string>, by = 1): void {
    const [a, b, c] = this.labelNames.map((name) => labels[name]);
    this.at(a as string, b, c).inc(by);
  }

  get(): { name: string; help: string; type: string; aggregator: string; values: Value[] } {
    const values = this.tree.entries().map(({ labels, series }) => ({ value: series.value, labels }));
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    this.tree.clear();
  }
}

export class HistogramSeries {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  private readonly upperBounds: readonly number[];

  constructor(upperBounds: readonly number[]) {
    this.upperBounds = upperBounds;
    this.counts = new Float64Array(upperBounds.length);
  }

  observe(value: number): void {
    this.sum += value;
    this.count++;
    const bounds = this.upperBounds;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= (bounds[i] as number)) {
        this.counts[i] = (this.counts[i] as number) + 1;
        return;
      }
    }
  }
}

export class FastHistogram<L extends string> {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly tree: SeriesTree<HistogramSeries>;
  private readonly labelNames: readonly L[];
  private readonly buckets: readonly number[];

  constructor(options: MetricOptions<L> & { readonly buckets: readonly number[] }) {
    this.name = options.name;
    this.help = options.help;
    this.labelNames = options.labelNames;
    this.buckets = options.buckets;
    this.tree = new SeriesTree(options.labelNames, () => new HistogramSeries(this.buckets));
    for (const registry of options.registers) registry.registerMetric(this as never);
  }

  at(a: string, b?: string, c?: string): HistogramSeries {
    return this.tree.at(a, b, c);
  }

  observe(labels: Record<L, string>, value: number): void {
    const [a, b, c] = this.labelNames.map((name) => labels[name]);
    this.at(a as string, b, c).observe(value);
  }

  /** Makes the series exist (all buckets at 0) before its first observation. */
  zero(labels: Record<L, string>): void {
    const [a, b, c] = this.labelNames.map((name) => labels[name]);
    this.at(a as string, b, c);
  }

  /** In prom-client's shape: cumulative _bucket series with `le`, then _sum and _count. */
  get(): { name: string; help: string; type: string; aggregator: string; values: Value[] } {
    const values: Value[] = [];
    for (const { labels, series } of this.tree.entries()) {
      let cumulative = 0;
      this.buckets.forEach((bound, i) => {
        cumulative += series.counts[i] as number;
        values.push({ value: cumulative, labels: { le: bound, ...labels }, metricName: `${this.name}_bucket` });
      });
      values.push({ value: series.count, labels: { le: '+Inf', ...labels }, metricName: `${this.name}_bucket` });
      values.push({ value: series.sum, labels, metricName: `${this.name}_sum` });
      values.push({ value: series.count, labels, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    this.tree.clear();
  }
}
