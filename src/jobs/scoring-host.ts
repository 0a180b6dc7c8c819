import { Worker } from 'node:worker_threads';
import type { ChunkMessage, HostMessage, ScoringTask, WorkerMessage } from './worker/protocol.js';

/** A failure the worker reported: `permanent` when retrying the job cannot help. */
export class ScoringError extends Error {
  constructor(message: string, readonly permanent: boolean) {
    super(message);
    this.name = 'ScoringError';
  }
}

/**
 * Starts the scoring worker thread. From the compiled .js it is the sibling module; under tsx
 * (tests, benches) the thread first registers tsx's loader, which Node 20 does not pass on to
 * worker threads by itself.
 */
function startWorker(niceness: number): Worker {
  const self = import.meta.url;
  // A small young generation: the thread's garbage (text pieces, per-chunk arrays) is collected
  // every few chunks instead of piling up to V8's default 16 MiB semi-spaces (memory, not speed).
  const options = { resourceLimits: { maxYoungGenerationSizeMb: 4 }, workerData: { niceness } };
  if (self.endsWith('.js')) return new Worker(new URL('./worker/scoring.worker.js', self), options);
  const target = new URL('./worker/scoring.worker.ts', self).href;
  const tsx = import.meta.resolve('tsx/esm/api');
  // The priority is lowered before the TypeScript loader starts compiling.
  const code = `try { require('node:os').setPriority(0, ${Number(niceness)}); } catch {}
import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(target)}); })`;
  return new Worker(code, { ...options, eval: true, execArgv: [] });
}

/**
 * One attempt of a job on the main thread's side: streams the input to a scoring worker on its
 * request (unless the worker reads it itself: task.storage), and hands each scored chunk to
 * `onChunk` (which stores it, unless the worker did, and commits it) before telling the worker
 * it may run further ahead. `run` resolves when the worker has sent its last chunk and every
 * chunk is committed; `terminate` stops the worker at once (a cancel).
 */
export class ScoringHost {
  private readonly worker: Worker;
  private commits: Promise<void> = Promise.resolve();
  private settled = false;
  private finisher: ((err?: Error) => void) | undefined;
  private exited = false;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly task: ScoringTask,
    /** The input, streamed to the worker on request; undefined when the worker reads it itself (task.storage). */
    private readonly input: AsyncIterator<Uint8Array> | undefined,
    private readonly onChunk: (chunk: ChunkMessage) => Promise<void>,
  ) {
    this.worker = startWorker(task.niceness);
  }

  /** Resolves when every chunk is committed, with the output blob's size and hash when the worker wrote it (task.storage.output). */
  run(): Promise<{ size: number; sha256: string } | undefined> {
    return new Promise((resolve, reject) => {
      const finish = (err?: Error, output?: { size: number; sha256: string }) => {
        if (this.settled) return;
        this.settled = true;
        void this.input?.return?.();
        // Settles once the chunk being stored is (no later one starts) and the worker has exited
        // (its output blob finished or removed): whoever cleans up after this attempt sees it all.
        void Promise.all([this.commits.catch(() => undefined), this.stopWorker()]).then(() => (err ? reject(err) : resolve(output)));
      };
      this.finisher = finish;
      const post = (message: HostMessage, transfer?: ArrayBuffer[]) => this.worker.postMessage(message, transfer);
      this.worker.on('message', (message: WorkerMessage) => {
        switch (message.type) {
          case 'pull':
            if (!this.input) return finish(new ScoringError('the scoring worker asked for input it reads itself', false));
            this.input.next().then(
              ({ value, done }) => {
                if (this.settled) return;
                if (done) return post({ type: 'end' });
                const bytes = this.own(value);
                post({ type: 'data', bytes }, [bytes.buffer as ArrayBuffer]);
              },
              (err: Error) => finish(err),
            );
            return;
          case 'chunk':
            this.commits = this.commits.then(async () => {
              if (this.settled) return;
              await this.onChunk(message);
              if (this.settled) return;
              // Stored: the output buffer (when the host stored it) goes back to the worker for a later chunk.
              const output = message.output;
              post({ type: 'ack', index: message.index, output }, output ? [output.buffer as ArrayBuffer] : undefined);
            });
            this.commits.catch((err: Error) => finish(err));
            return;
          case 'done':
            this.commits.then(() => finish(undefined, message.output), (err: Error) => finish(err));
            return;
          case 'fatal':
            this.commits.then(() => finish(new ScoringError(message.message, message.permanent)), (err: Error) => finish(err));
            return;
        }
      });
      this.worker.on('error', (err) => finish(new ScoringError(`the scoring worker failed: ${err.message}`, false)));
      this.worker.on('exit', (code) => {
        this.exited = true;
        finish(new ScoringError(`the scoring worker stopped (exit code ${code})`, false));
      });
      post({ type: 'start', task: this.task });
    });
  }

  /**
   * A piece of input for the worker to own. The stream's own buffer when the piece is all of it
   * (a file stream reads into a new buffer each time): it moves to the worker, so this thread
   * keeps no garbage per piece (fewer collections on the event loop that serves online
   * requests). A slice of a shared pool buffer is copied.
   */
  private own(value: Uint8Array): Uint8Array {
    const buffer = value.buffer;
    if (buffer instanceof ArrayBuffer && value.byteOffset === 0 && value.byteLength === buffer.byteLength) return value;
    return new Uint8Array(value);
  }

  /** Stops the worker now (it exits between two session runs); run() rejects with `reason`. */
  async terminate(reason: Error): Promise<void> {
    this.finisher?.(reason);
    await this.stopWorker();
  }

  /**
   * Asks the worker to release its session and exit, and waits for it. Terminating a thread
   * while ONNX Runtime runs in it aborts the whole process, so terminate() is the last resort.
   */
  private stopWorker(): Promise<void> {
    this.stopping ??= (async () => {
      if (this.exited) return;
      const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
      this.worker.postMessage({ type: 'stop' } satisfies HostMessage);
      const timer = setTimeout(() => void this.worker.terminate(), 10_000);
      await exited;
      clearTimeout(timer);
    })();
    return this.stopping;
  }
}
