import type PromClient from 'prom-client';
import { lazyRequire } from '../../core/lazy-require.js';
import type { JobQueue } from '../../jobs/index.js';

/*
 * What an autoscaler scales `sextant worker` on (KEDA's prometheus trigger, an HPA through the
 * Prometheus adapter): jobs per queue and state, read from the job rows at each scrape (so any
 * replica's /metrics shows the whole cluster's queues), and the busy share of the workers in this
 * process. Their own registry, as serving's metrics have theirs.
 */

const promClient = lazyRequire<typeof PromClient>('prom-client');

export function createAutoscalerMetrics(jobs: Pick<JobQueue, 'depth' | 'load'>) {
  let built: ReturnType<typeof build> | undefined;
  function build() {
    const { Gauge, Registry } = promClient();
    const registry = new Registry();
    new Gauge({
      name: 'sextant_jobs_queue_depth',
      help: 'Unfinished jobs per queue and state: waiting (may run now), held (an exhausted budget holds them), active (running)',
      labelNames: ['queue', 'state'] as const,
      registers: [registry],
      async collect() {
        this.reset();
        for (const d of await jobs.depth()) {
          this.labels(d.queue, 'waiting').set(d.waiting);
          this.labels(d.queue, 'held').set(d.held);
          this.labels(d.queue, 'active').set(d.active);
        }
      },
    });
    new Gauge({
      name: 'sextant_worker_slots',
      help: 'Job slots of the workers in this process (their concurrency, summed)',
      registers: [registry],
      collect() {
        this.set(jobs.load().slots);
      },
    });
    new Gauge({
      name: 'sextant_worker_busy_ratio',
      help: "Share of this process's worker slots running a job now (0 with no workers)",
      registers: [registry],
      collect() {
        const { slots, busy } = jobs.load();
        this.set(slots ? busy / slots : 0);
      },
    });
    return registry;
  }
  const registry = () => {
    built ??= build();
    return built;
  };
  return {
    /** The Prometheus text exposition of the queue and worker gauges. */
    text: (): Promise<string> => registry().metrics(),
  };
}

export type AutoscalerMetrics = ReturnType<typeof createAutoscalerMetrics>;
