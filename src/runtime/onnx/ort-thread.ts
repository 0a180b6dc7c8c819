/**
 * ONNX Runtime in a thread of its own, for the scoring worker. onnxruntime-node's session.run is
 * synchronous: in the scoring thread it would stop the parsing of the next chunk for as long as
 * the model runs. Here the session lives in a small second thread (plain JavaScript, so it starts
 * fast and needs no TypeScript loader), the scoring thread posts each chunk's input tensors to it
 * (transferred, not copied) and goes on parsing; the outputs come back transferred too. Runs are
 * answered in the order they were posted.
 *
 * The thread is never terminated mid-run (ONNX Runtime aborts the process): dispose() asks it to
 * drop the runs still queued, release the session after the current one and exit.
 */
import { readFile } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import { fromOrtType, toOrtType } from '../../core/datatypes.js';
import type { Signature } from '../../core/model-schema.js';
import type { Tensor, TensorSpec } from '../../core/tensor.js';
import type { ModelRuntime } from '../../runtime/model-runtime.js';
import { classLabelsOfModel } from './onnx-labels.js';
import { ortRunError } from './ort-run-error.js';

/** The thread's code: CommonJS, evaluated as is (workerData: ortUrl, modelFile, intraOpThreads, niceness). */
const RUNNER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { performance } = require('node:perf_hooks');
if (workerData.niceness) try { require('node:os').setPriority(0, workerData.niceness); } catch {}
let stopping = false;
let queue = Promise.resolve();
const message = (err) => (err && err.message) || String(err);
(async () => {
  let ort, session, started;
  try {
    ort = await import(workerData.ortUrl);
    started = performance.now();
    session = await ort.InferenceSession.create(workerData.modelFile, {
      intraOpNumThreads: workerData.intraOpThreads,
      interOpNumThreads: 1,
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'all',
    });
  } catch (err) {
    parentPort.postMessage({ type: 'failed', message: message(err) });
    return;
  }
  const meta = (list) => list.map((m) => ({ name: m.name, isTensor: m.isTensor, type: m.type, shape: m.shape }));
  const loadMs = performance.now() - started;
  parentPort.postMessage({ type: 'ready', loadMs, inputs: meta(session.inputMetadata), outputs: meta(session.outputMetadata) });
  const run = async (m) => {
    if (stopping) return;
    // The inputs that were moved here go back with the answer, for the caller to fill again.
    const inputs = m.feeds.map((f) => (m.moved.includes(f.name) ? f.data : null));
    const transfer = [];
    const give = (data) => ArrayBuffer.isView(data) && !transfer.includes(data.buffer) && transfer.push(data.buffer);
    try {
      const feeds = {};
      for (const f of m.feeds) feeds[f.name] = new ort.Tensor(f.type, f.data, f.dims);
      const t0 = performance.now();
      const results = await session.run(feeds, m.outputs);
      const computeUs = Math.round((performance.now() - t0) * 1000);
      const outputs = [];
      for (const name of m.outputs) {
        const r = results[name];
        outputs.push({ name, type: r.type, dims: r.dims, data: r.data });
        give(r.data);
      }
      inputs.forEach(give);
      parentPort.postMessage({ type: 'result', id: m.id, outputs, inputs, computeUs }, transfer);
    } catch (err) {
      inputs.forEach(give);
      parentPort.postMessage({ type: 'result', id: m.id, error: message(err), inputs }, transfer);
    }
  };
  parentPort.on('message', (m) => {
    if (m.type === 'run') {
      queue = queue.then(() => run(m));
    } else if (m.type === 'stop') {
      stopping = true;
      queue.then(() => session.release()).catch(() => undefined).then(() => process.exit(0));
    }
  });
})();
`;

interface OrtValueMeta {
  name: string;
  isTensor: boolean;
  type: string;
  shape: (number | string)[];
}

type RunnerMessage =
  | { type: 'ready'; loadMs: number; inputs: OrtValueMeta[]; outputs: OrtValueMeta[] }
  | { type: 'failed'; message: string }
  | { type: 'result'; id: number; outputs?: { name: string; type: string; dims: number[]; data: Tensor['data'] }[]; inputs?: (Tensor['data'] | null)[]; error?: string; computeUs?: number };

function specsOf(metadata: readonly OrtValueMeta[], role: string): TensorSpec[] {
  return metadata.map((m) => {
    if (!m.isTensor) throw new Error(`${role} '${m.name}' is not a tensor (sequences and maps are not supported; export without ZipMap)`);
    const datatype = fromOrtType(m.type);
    if (!datatype) throw new Error(`${role} '${m.name}' has type ${m.type}, which Plinth does not support`);
    return { name: m.name, datatype, shape: m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1)) };
  });
}

/** Typed arrays the caller hands over: their memory moves to the thread instead of being copied. */
function transferable(data: Tensor['data']): ArrayBuffer | undefined {
  if (!ArrayBuffer.isView(data)) return undefined;
  const buffer = data.buffer;
  // A Buffer from Node's pool shares its memory with others: copy those.
  return buffer instanceof ArrayBuffer && !Buffer.isBuffer(data) ? buffer : undefined;
}

export interface OrtThreadOptions {
  intraOpThreads: number;
  /** Nice value of the thread (Linux); 0 for serving, higher for batch jobs. */
  niceness: number;
}

/** Asks the thread to release its session and exit; resolves when it has. */
function stopThread(worker: Worker): Promise<void> {
  if (worker.threadId < 0) return Promise.resolve(); // already gone
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  worker.postMessage({ type: 'stop' });
  return exited;
}

export class OrtThread implements ModelRuntime {
  private nextId = 0;
  private readonly pending = new Map<number, { inputs: Tensor[]; outputNames: string[]; resolve: (outputs: Map<string, Tensor>) => void; reject: (err: unknown) => void }>();
  readonly movesInputs = true;
  /** Microseconds ORT spent in the last run that finished, measured in the thread (no messaging in it). */
  lastComputeUs = 0;
  private failure: Error | undefined;
  private stopping: Promise<void> | undefined;

  private constructor(
    private readonly worker: Worker,
    readonly signature: Signature,
    readonly graphLabels: (string | number)[] | undefined,
    /** How long creating the session took in the thread: what loading it on the main thread would block for. */
    readonly loadMs: number,
  ) {
    worker.on('message', (m: RunnerMessage) => {
      if (m.type !== 'result') return;
      const waiter = this.pending.get(m.id);
      if (!waiter) return;
      this.pending.delete(m.id);
      if (m.computeUs !== undefined) this.lastComputeUs = m.computeUs;
      // Moved inputs come back (also after a failed run): the caller's tensors hold their data again.
      m.inputs?.forEach((data, i) => {
        if (data) waiter.inputs[i]!.data = data;
      });
      if (m.error !== undefined) return waiter.reject(ortRunError(new Error(m.error), waiter.outputNames));
      const out = new Map<string, Tensor>();
      for (const o of m.outputs!) out.set(o.name, { name: o.name, datatype: fromOrtType(o.type)!, shape: [...o.dims], data: o.data });
      waiter.resolve(out);
    });
    const lost = (err: Error) => {
      this.failure ??= err;
      for (const waiter of this.pending.values()) waiter.reject(this.failure);
      this.pending.clear();
    };
    worker.on('error', (err) => lost(new Error(`the ONNX Runtime thread failed: ${err.message}`)));
    worker.on('exit', (code) => lost(new Error(`the ONNX Runtime thread stopped (exit code ${code})`)));
  }

  /** Starts the thread and loads the model in it (and reads the graph's class labels here meanwhile); resolves once it can run. */
  static async start(modelFile: string, options: OrtThreadOptions): Promise<OrtThread> {
    const worker = new Worker(RUNNER_SOURCE, {
      eval: true,
      execArgv: [],
      resourceLimits: { maxYoungGenerationSizeMb: 4 }, // it allocates little; keep its heap small
      workerData: { ortUrl: import.meta.resolve('onnxruntime-node'), modelFile, intraOpThreads: options.intraOpThreads, niceness: options.niceness },
    });
    const labels = readFile(modelFile).then((bytes) => classLabelsOfModel(bytes));
    labels.catch(() => undefined);
    let onMessage!: (m: RunnerMessage) => void;
    let onError!: (err: Error) => void;
    let onExit!: (code: number) => void;
    const ready = await new Promise<RunnerMessage | Error>((resolve) => {
      onMessage = resolve;
      onError = resolve;
      onExit = (code) => resolve(new Error(`the ONNX Runtime thread stopped while loading the model (exit code ${code})`));
      worker.on('message', onMessage).on('error', onError).on('exit', onExit);
    });
    // Not removeAllListeners(): that also removes the worker's own, and its messages stop arriving.
    worker.off('message', onMessage).off('error', onError).off('exit', onExit);
    if (ready instanceof Error || ready.type !== 'ready') {
      await worker.terminate(); // no session is running in it
      throw ready instanceof Error ? ready : new Error(ready.type === 'failed' ? ready.message : 'the ONNX Runtime thread did not start');
    }
    try {
      const signature = { inputs: specsOf(ready.inputs, 'input'), outputs: specsOf(ready.outputs, 'output') };
      return new OrtThread(worker, signature, await labels, ready.loadMs);
    } catch (err) {
      worker.on('error', () => undefined);
      await stopThread(worker);
      throw err;
    }
  }

  /**
   * Posts the run now (the thread starts on it at once) and resolves with its outputs. Typed
   * array inputs are moved to the thread, not copied, and moved back: until the run settles
   * their memory is detached, then `inputs[i].data` is set to the returned view (same offset
   * and length), so the caller can fill it again.
   */
  run(inputs: Tensor[], outputNames: string[]): Promise<Map<string, Tensor>> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    const transfer: ArrayBuffer[] = [];
    const moved: string[] = [];
    const feeds = inputs.map((t) => {
      const buffer = transferable(t.data);
      if (buffer) {
        if (!transfer.includes(buffer)) transfer.push(buffer);
        moved.push(t.name);
      }
      return { name: t.name, type: toOrtType(t.datatype), dims: t.shape, data: t.data };
    });
    return new Promise((resolve, reject) => {
      this.pending.set(id, { inputs, outputNames, resolve, reject });
      this.worker.postMessage({ type: 'run', id, feeds, moved, outputs: outputNames }, transfer);
    });
  }

  /** Drops the queued runs, lets the current one finish, releases the session; resolves when the thread is gone. */
  dispose(): Promise<void> {
    this.stopping ??= this.failure ? Promise.resolve() : stopThread(this.worker);
    return this.stopping;
  }
}
