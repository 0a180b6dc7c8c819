/**
 * The scoring thread (started through ./scoring.worker.ts): reads the input, maps rows through
 * the model's features, has ONNX Runtime score chunks of rows and hands each chunk to the host to
 * commit. Everything CPU-heavy of a job happens here and in the ONNX Runtime thread this one
 * starts (src/runtime/onnx/ort-thread.ts), off the server's event loop: a sealed chunk is posted to that thread
 * at once and this one parses the next chunk while the model runs (a pipeline of two threads).
 *
 * With `task.storage` this thread also does the job's blob I/O: it reads the input, writes each
 * chunk's parts before sending the chunk, and writes the output blob from the committed parts.
 * Without it the host streams the input on request ('pull') and stores the parts it is sent.
 * Flow control either way: no more input is read while MAX_PENDING chunks are sealed but not yet
 * committed by the host ('ack'), so memory stays bounded whatever the file size.
 */
import type { Readable } from 'node:stream';
import { parentPort } from 'node:worker_threads';
import { loadFailureReason, PlinthError } from '../../core/errors.js';
import { describeModel, type ModelSchema } from '../../core/model-schema.js';
import { ChunkScorer } from '../chunk-scorer.js';
import { assertExplainable, batchExplanationProblem, ChunkExplainer } from '../explanation-columns.js';
import { checkHeader } from '../asset-analyzer.js';
import { CsvByteReader } from '../csv-bytes.js';
import { CsvSplitter, fieldText } from '../csv-scanner.js';
import { JsonArrayReader, NdjsonReader } from '../json-readers.js';
import { LocalFolderBlobStore } from '../../storage/blob/local-folder.blob-store.js';
import type { BlobInfo } from '../../storage/ports.js';
import { FollowingParts, partKey, putBytes, putText } from '../job-parts.js';
import { OrtThread } from '../../runtime/onnx/ort-thread.js';
import { copyingRuntime } from '../../runtime/model-runtime.js';
import type { HostMessage, ScoringTask, WorkerMessage } from './protocol.js';

/** Chunks sealed and not yet committed: one being scored, one being stored, one being parsed. */
const MAX_PENDING = 3;
const port = parentPort!;
const send = (message: WorkerMessage, transfer?: ArrayBuffer[]) => port.postMessage(message, transfer);

class Job {
  private scorer: ChunkScorer | undefined;
  private runtime: OrtThread | undefined;
  private starting: Promise<OrtThread> | undefined;
  private reader!: { push(bytes: Uint8Array): void; end(): void };
  private index: number;
  /** Chunks sealed and not yet acknowledged by the host. */
  private pending = 0;
  private pullOwed = false;
  /** Scored chunks are sent in order, each when its predecessor has been. */
  private sending: Promise<void> = Promise.resolve();
  private skipLeft: number;
  private headerCells = 0;
  private pendingErrors: { line: number; reason: string }[] = [];
  private headerSent: boolean;
  /** With task.storage: the blob store, the input being read, the output blob being written from the committed parts and its feed. */
  private blobs: LocalFolderBlobStore | undefined;
  private input: Readable | undefined;
  private following: FollowingParts | undefined;
  private assembled: Promise<BlobInfo> | undefined;
  private roomWaiter: (() => void) | undefined;
  private stopped = false;
  /** Index of the input's last chunk, once sent. */
  private lastIndex = -1;
  /** The explanation columns' explainer, when the job explains: stopped with the job. */
  private explaining: ChunkExplainer | undefined;
  /** Records seen before the scorer exists (JSON inputs create it at once; CSV after the header). */
  private setupError: Error | undefined;

  constructor(
    private readonly task: ScoringTask,
    private readonly onFailure: (err: unknown) => void,
  ) {
    this.index = task.startChunk;
    this.skipLeft = task.skipRecords;
    this.headerSent = task.startChunk > 0;
  }

  async start(): Promise<void> {
    this.starting = OrtThread.start(this.task.modelFile, { intraOpThreads: this.task.intraOpThreads, niceness: this.task.niceness });
    this.runtime = await this.starting;
    const storage = this.task.storage;
    if (storage) {
      // The same local blob store as the server's, opened here: no data byte passes through the server's event loop.
      this.blobs = await LocalFolderBlobStore.open(storage.blobRoot);
      this.input = await this.blobs.get(storage.inputKey);
      if (storage.output) {
        this.following = new FollowingParts(this.blobs, storage.jobId, storage.output.committed);
        this.assembled = this.blobs.put(storage.output.key, this.following);
        this.assembled.catch(() => undefined); // awaited in end(), or after stopping it in dispose()
      }
    }
    const runtime = this.runtime;
    const schema = describeModel(runtime.signature, runtime.graphLabels, this.task.manifest);
    const explainer = this.task.explanations ? await this.explainer(schema, runtime) : undefined;
    this.explaining = explainer;
    const { input, maxRecordChars } = this.task;
    const make = (columns: string[] | null) =>
      new ChunkScorer(schema, runtime, { columns, carry: this.task.carry, probabilities: this.task.probabilities, format: this.task.outputFormat, chunkRows: this.task.chunkRows, explainer });
    if (input.format === 'csv') {
      const dialect = input.dialect ?? { delimiter: ',', quote: '"', bom: false };
      // Records are found on the bytes; a plain numeric record is parsed from them directly, any
      // other (quotes, an unusual cell, an error to report) is decoded and split by CsvSplitter.
      const splitter = new CsvSplitter(dialect.delimiter, dialect.quote);
      const delimiter = dialect.delimiter.charCodeAt(0);
      const split = (bytes: Buffer, start: number, end: number, line: number, quoted: boolean) => {
        const text = bytes.toString('utf8', start, end);
        return quoted ? splitter.quoted(text, 0, text.length, line) : splitter.plain(text, 0, text.length, line);
      };
      this.reader = new CsvByteReader({
        delimiter: dialect.delimiter,
        quote: dialect.quote,
        maxRecordChars,
        onRecord: (bytes, start, end, line, quoted) => {
          if (!this.scorer) {
            if (this.setupError) return;
            try {
              const r = split(bytes, start, end, line, quoted);
              const names: string[] = [];
              for (let i = 0; i < r.count; i++) names.push(fieldText(r, i));
              this.headerCells = r.count;
              this.scorer = make(checkHeader(names));
            } catch (err) {
              this.setupError = err as Error;
            }
            return;
          }
          if (this.skipLeft > 0) {
            this.skipLeft--;
            this.scorer.skip();
            return;
          }
          if (quoted || !this.scorer.addCsvBytes(bytes, start, end, line, this.headerCells, delimiter)) {
            this.scorer.addCsv(split(bytes, start, end, line, quoted), this.headerCells);
          }
          if (this.scorer.full) this.seal(false);
        },
        onError: (line, reason) => this.recordError(line, reason),
      });
    } else {
      this.scorer = make(null);
      const options = {
        maxRecordChars,
        onRecord: (value: unknown, line: number) => {
          if (this.skipLeft > 0) {
            this.skipLeft--;
            this.scorer!.skip();
            return;
          }
          this.scorer!.addJson(value, line);
          if (this.scorer!.full) this.seal(false);
        },
        onError: (line: number, reason: string) => this.recordError(line, reason),
      };
      const reader = input.format === 'ndjson' ? new NdjsonReader(options) : new JsonArrayReader(options);
      const decoder = new TextDecoder('utf-8', { fatal: true });
      this.reader = {
        push: (bytes) => {
          let text: string;
          try {
            text = decoder.decode(bytes, { stream: true });
          } catch {
            throw new PlinthError('INVALID_INPUT', 'the input is not valid UTF-8');
          }
          reader.push(text);
        },
        end: () => {
          let text: string;
          try {
            text = decoder.decode();
          } catch {
            throw new PlinthError('INVALID_INPUT', 'the input is not valid UTF-8 (it ends inside a character)');
          }
          if (text) reader.push(text);
          reader.end();
        },
      };
    }
    if (this.input) void this.readAll(this.input).catch((err: unknown) => this.stopped || this.onFailure(err));
    else this.pull();
  }

  /**
   * The model's explainer, built as the server builds its own (graph, manifest background), with
   * kernel SHAP calling this job's ONNX Runtime thread. Loaded only for jobs that explain: the
   * graph reader is not needed otherwise. A model the job cannot explain fails it for good.
   */
  private async explainer(schema: ModelSchema, runtime: OrtThread): Promise<ChunkExplainer> {
    const { explainerFor } = await import('../../inference/explainer.factory.js');
    const explainer = await explainerFor({ file: this.task.modelFile, manifest: this.task.manifest, schema, runtime: copyingRuntime(runtime) }).catch((err: unknown) => {
      throw new PlinthError('INVALID_INPUT', `the model's explainer could not be built: ${loadFailureReason(err)}`);
    });
    assertExplainable(batchExplanationProblem(explainer), 'this model');
    return new ChunkExplainer(explainer);
  }

  /** With task.storage: reads the input here, no further ahead than the host's commits allow. */
  private async readAll(input: Readable): Promise<void> {
    for await (const piece of input) {
      if (this.stopped) return;
      this.reader.push(piece as Buffer);
      this.checkSetup();
      while (this.pending >= MAX_PENDING && !this.stopped) await new Promise<void>((resolve) => (this.roomWaiter = resolve));
    }
    if (!this.stopped) await this.end();
  }

  private recordError(line: number, reason: string): void {
    if (!this.scorer) {
      this.pendingErrors.push({ line, reason });
      return;
    }
    if (this.skipLeft > 0) {
      this.skipLeft--;
      this.scorer.skip();
      return;
    }
    this.scorer.addError(line, reason);
    if (this.scorer.full) this.seal(false);
  }

  /**
   * Seals the current chunk and posts it to the ONNX Runtime thread at once; its output is sent
   * to the host, in chunk order, when it comes back. Parsing goes on meanwhile.
   */
  private seal(last: boolean): void {
    const chunk = this.scorer!.seal();
    this.pending++;
    const header = this.headerSent ? '' : this.scorer!.header();
    this.headerSent = true;
    const scored = this.scorer!.score(chunk, this.task.input.format === 'csv', header);
    scored.catch(() => undefined); // handled in order below
    this.sending = this.sending.then(async () => {
      const result = await scored;
      const index = this.index++;
      if (last) this.lastIndex = index;
      const counts = { read: result.read, scored: result.scored, failed: result.failed, last };
      const storage = this.task.storage;
      if (storage) {
        if (this.stopped) return;
        // The parts first, then the chunk goes to the host to be committed: a committed chunk always has its parts.
        const blobs = this.blobs!;
        await putBytes(blobs, partKey(storage.jobId, index, 'out'), result.output);
        if (result.errors) await putText(blobs, partKey(storage.jobId, index, 'err'), result.errors);
        else if (storage.staleErrorParts) await blobs.delete(partKey(storage.jobId, index, 'err'));
        this.scorer!.reuseOutput(Buffer.from(result.output.buffer));
        send({ type: 'chunk', index, ...counts });
        return;
      }
      const output = new Uint8Array(result.output.buffer, result.output.byteOffset, result.output.byteLength);
      // Transferred: the host hands the buffer back with its ack, for a later chunk's output.
      send({ type: 'chunk', index, output, errors: result.errors, ...counts }, [output.buffer as ArrayBuffer]);
    });
    this.sending.catch(this.onFailure);
  }

  /** Asks for the next bytes now, so they arrive while these are parsed; later if too far ahead. */
  private requestMore(): void {
    if (this.pending < MAX_PENDING) this.pull();
    else this.pullOwed = true;
  }

  private pull(): void {
    send({ type: 'pull' });
  }

  async data(bytes: Uint8Array): Promise<void> {
    this.requestMore();
    this.reader.push(bytes);
    this.checkSetup();
  }

  async end(): Promise<void> {
    try {
      this.reader.end();
    } catch (err) {
      if (err instanceof PlinthError) throw err;
      throw new PlinthError('INVALID_INPUT', `the input is not a valid ${this.task.input.format} file: ${(err as Error).message}`);
    }
    this.checkSetup();
    if (!this.scorer) throw new PlinthError('INVALID_INPUT', 'the input has no header row');
    this.seal(true);
    await this.sending;
    // With an output to write, done waits for the last commit (the ack finishes the feed) and the blob.
    const info = await this.assembled;
    send({ type: 'done', output: info && { size: info.size, sha256: info.sha256 } });
  }

  /**
   * Stops reading, lets a part being written finish (no later one starts), stops writing the
   * output blob (its temporary file is removed) and releases the session, once loaded if it is
   * still loading (a thread is never ended inside ONNX Runtime). Once it resolves, this thread
   * writes nothing more: the host may clean up.
   */
  async dispose(): Promise<void> {
    this.stopped = true;
    this.explaining?.stop();
    this.input?.destroy();
    this.roomWaiter?.();
    this.following?.stop(new Error('the attempt stopped'));
    await this.assembled?.catch(() => undefined);
    await this.sending.catch(() => undefined);
    const runtime = this.runtime ?? (await this.starting?.catch(() => undefined));
    await runtime?.dispose();
  }

  ack(index: number, recycled: Uint8Array | undefined): void {
    if (recycled) this.scorer?.reuseOutput(Buffer.from(recycled.buffer));
    // Chunks up to this one are committed: their parts go into the output blob.
    this.following?.commit(index + 1);
    if (index === this.lastIndex) this.following?.finish();
    this.pending--;
    if (this.pending < MAX_PENDING) {
      const waiter = this.roomWaiter;
      this.roomWaiter = undefined;
      waiter?.();
    }
    if (this.pullOwed && this.pending < MAX_PENDING) {
      this.pullOwed = false;
      this.pull();
    }
  }

  private checkSetup(): void {
    if (this.setupError) throw this.setupError;
    if (this.scorer && this.pendingErrors.length) {
      const errors = this.pendingErrors;
      this.pendingErrors = [];
      for (const e of errors) this.recordError(e.line, e.reason);
    }
  }
}

let job: Job | undefined;
let chain: Promise<void> = Promise.resolve();
let failed = false;

/** Reports the first failure and stops handling input: the host stops this thread. */
const fail = (err: unknown) => {
  if (failed) return;
  failed = true;
  chain = new Promise<void>(() => undefined);
  const permanent = err instanceof PlinthError && err.status < 500;
  send({ type: 'fatal', message: err instanceof Error ? err.message : String(err), permanent });
};

port.on('message', (message: HostMessage) => {
  // Acks are handled at once; everything else runs in order.
  if (message.type === 'ack') return job?.ack(message.index, message.output);
  if (message.type === 'stop') {
    // The ONNX Runtime thread drops its queued runs, releases the session after the current one and exits; then this one.
    void (async () => {
      await job?.dispose().catch(() => undefined);
      process.exit(0);
    })();
    return;
  }
  chain = chain.then(async () => {
    if (failed) return undefined;
    switch (message.type) {
      case 'start':
        job = new Job(message.task, fail);
        return job.start();
      case 'data':
        return job!.data(message.bytes);
      case 'end':
        return job!.end();
      default:
        return undefined;
    }
  }).catch(fail);
});
