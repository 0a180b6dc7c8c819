/** Batch-scoring settings, from the server's configuration (src/config/config.ts). */
export interface JobSettings {
  /** Jobs scored at the same time, each in its own worker thread. */
  concurrency: number;
  /** Rows per chunk: the unit of scoring and of committed progress. */
  chunkRows: number;
  /** Attempts per job before it fails (1 = no retry). */
  maxAttempts: number;
  /** Wait before the first retry; doubled for each further one. */
  retryBackoffMs: number;
  /** Default share of invalid rows (0..1) past which a job fails. */
  maxErrorRate: number;
  /** Largest row (in characters) read from an input; longer rows become row errors. */
  maxRecordChars: number;
  /** Largest data asset upload, in bytes. */
  maxAssetBytes: number;
  /** ONNX Runtime intra-op threads in a scoring worker. */
  intraOpThreads: number;
  /** Nice value of scoring threads (0..19, Linux): online requests keep the CPU first. */
  niceness: number;
  /** How long a claimed job stays locked without a renewal. */
  leaseMs: number;
  /** How often the runner looks for due jobs (retries, other processes' submissions). */
  pollMs: number;
}

export const DEFAULT_JOB_SETTINGS: JobSettings = {
  concurrency: 1,
  chunkRows: 5000,
  maxAttempts: 3,
  retryBackoffMs: 2000,
  maxErrorRate: 0.1,
  maxRecordChars: 1024 * 1024,
  maxAssetBytes: 1024 * 1024 * 1024,
  intraOpThreads: 1,
  niceness: 10,
  leaseMs: 60_000,
  pollMs: 500,
};
