import type { Manifest } from '../../core/manifest.js';
import type { CsvDialect, DataFormat, OutputFormat } from '../../storage/job-ports.js';

/** What one attempt of a job scores, as the host hands it to the worker. */
export interface ScoringTask {
  modelFile: string;
  manifest: Manifest;
  intraOpThreads: number;
  /** Nice value for the scoring thread (Linux): online requests keep the CPU first. */
  niceness: number;
  input: { format: DataFormat; dialect: CsvDialect | null };
  /** Input records already committed: read and counted, not scored again. */
  skipRecords: number;
  /** Index of the first chunk this attempt writes. */
  startChunk: number;
  chunkRows: number;
  carry: string[];
  probabilities: boolean;
  /** Explanation columns: the worker builds the model's explainer from modelFile and manifest. */
  explanations: boolean;
  outputFormat: OutputFormat;
  maxRecordChars: number;
  /**
   * The worker does the job's blob I/O itself, through its own instance of the (local folder)
   * blob store under `blobRoot`: it reads the input, writes each chunk's parts before sending the
   * chunk, and writes the output blob (`output.key`, when there is one to write) from the
   * committed parts while it scores (`output.committed`: parts committed by earlier attempts).
   * No data byte then passes through the server's event loop. `staleErrorParts`: an earlier
   * attempt may have left error parts for uncommitted chunks (removed as the chunks are written).
   * Absent: the host streams the input ('pull'/'data'/'end') and stores the parts itself (a blob
   * store a worker cannot open).
   */
  storage?: { blobRoot: string; jobId: string; inputKey: string; staleErrorParts: boolean; output?: { key: string; committed: number } };
}

export type HostMessage =
  | { type: 'start'; task: ScoringTask }
  | { type: 'data'; bytes: Uint8Array }
  | { type: 'end' }
  /** The chunk is committed: the worker may run further ahead. Its output buffer comes back for reuse. */
  | { type: 'ack'; index: number; output?: Uint8Array }
  /** Release the session and exit (done, canceled or shutting down): never terminate a thread mid-run, ORT aborts the process. */
  | { type: 'stop' };

export interface ChunkMessage {
  type: 'chunk';
  index: number;
  /**
   * The output part, UTF-8: the header first in chunk 0 (CSV), then one line per scored row (a
   * view on a transferred buffer), and the error lines (without the header). Only when the host
   * stores the parts; with `task.storage` the worker has stored them before sending the chunk.
   */
  output?: Uint8Array;
  errors?: string;
  read: number;
  scored: number;
  failed: number;
  /** The input ended with this chunk. */
  last: boolean;
}

export type WorkerMessage =
  /** Asks for the next piece of input. */
  | { type: 'pull' }
  | ChunkMessage
  /** Every chunk is sent (and, with `task.storage.output`, committed and the output blob written: its size and hash). */
  | { type: 'done'; output?: { size: number; sha256: string } }
  /** `permanent`: retrying cannot help (bad input, a model that cannot score records). */
  | { type: 'fatal'; message: string; permanent: boolean };
