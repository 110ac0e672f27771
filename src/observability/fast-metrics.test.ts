// The fast series must read exactly like prom-client's own: same text, same order of labels.
import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { FastCounter, FastHistogram } from './fast-metrics.ts';

const BUCKETS = [0.001, 0.01, 0.1, 1];

describe('FastCounter and FastHistogram', () => {
  it('render the same Prometheus text as prom-client for the same observations', async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const options = { name: 'x_requests_total', help: 'Requests', labelNames: ['route', 'status'] as const };
    const fast = new FastCounter({ ...options, registers: [ours] });
    const slow = new Counter({ ...options, registers: [theirs] });
    const hOptions = { name: 'x_duration_seconds', help: 'Duration', labelNames: ['route'] as const, buckets: BUCKETS };
    const fastH = new FastHistogram({ ...hOptions, registers: [ours] });
    const slowH = new Histogram({ ...hOptions, registers: [theirs] });
    for (const [route, status, seconds] of [
      ['/a/**', '200', 0.0005],
      ['/a/**', '200', 0.05],
      ['/b', '403', 2],
      ['/a/**', '502', 0.01],
    ] as const) {
      fast.at(route, status).inc();
      slow.inc({ route, status });
      fastH.at(route).observe(seconds);
      slowH.observe({ route }, seconds);
    }
    fast.inc({ route: '/b', status: '403' }, 2);
    slow.inc({ route: '/b', status: '403' }, 2);
    fastH.zero({ route: '/never' });
    slowH.zero({ route: '/never' });
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });

  it('hands out one series object per label set', () => {
    const counter = new FastCounter({ name: 'y_total', help: 'y', labelNames: ['a', 'b'] as const, registers: [] });
    expect(counter.at('1', '2')).toBe(counter.at('1', '2'));
    expect(counter.at('1', '2')).not.toBe(counter.at('2', '1'));
  });
});
