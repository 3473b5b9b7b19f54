import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';

/** One batch the data-loader handed to gRPC (the loader service's `onBatch` hook). */
export interface LoaderBatchSample {
  jobId: string;
  split: 'train' | 'test';
  samples: number;
  bytes: number;
}

/** What the data-loader records. */
export interface LoaderMetrics {
  batch(sample: LoaderBatchSample): void;
  /** The job was released: drop its series. */
  released(jobId: string): void;
}

/** Live values the loader's gauges read when scraped. */
export interface LoaderGaugeSources {
  /** Open StreamBatches calls. */
  streams: () => number;
  /** Batches written to open streams and not yet flushed to the network (summed over streams). */
  queuedBatches: () => number;
}

/**
 * Prometheus metrics of the data-loader, on an injected registry:
 * `distrain_loader_batches_total`, `distrain_loader_samples_total`, `distrain_loader_bytes_total`
 * (labels `job_id`, `split`), `distrain_loader_streams` and `distrain_loader_queue_depth` (gauges,
 * read at scrape time).
 */
export function createLoaderMetrics(registry: Registry, sources: LoaderGaugeSources): LoaderMetrics {
  const registers = [registry];
  const labelNames = ['job_id', 'split'] as const;
  const batches = new Counter({
    name: 'distrain_loader_batches_total',
    help: 'Batches sent.',
    labelNames,
    registers,
  });
  const samples = new Counter({
    name: 'distrain_loader_samples_total',
    help: 'Samples sent.',
    labelNames,
    registers,
  });
  const bytes = new Counter({
    name: 'distrain_loader_bytes_total',
    help: 'Encoded batch bytes sent.',
    labelNames,
    registers,
  });
  new Gauge({
    name: 'distrain_loader_streams',
    help: 'Open StreamBatches calls.',
    registers,
    collect() {
      this.set(sources.streams());
    },
  });
  new Gauge({
    name: 'distrain_loader_queue_depth',
    help: 'Batches produced and waiting in gRPC send buffers (flow control holds production when full).',
    registers,
    collect() {
      this.set(sources.queuedBatches());
    },
  });
  return {
    batch(s) {
      const labels = { job_id: s.jobId, split: s.split };
      batches.inc(labels);
      samples.inc(labels, s.samples);
      bytes.inc(labels, s.bytes);
    },
    released(jobId) {
      for (const split of ['train', 'test'])
        for (const m of [batches, samples, bytes]) m.remove({ job_id: jobId, split });
    },
  };
}
