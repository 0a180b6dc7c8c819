import type { ModelSchema, Signature } from '../core/model-schema.js';
import type { RowLimit } from '../core/row-limit.js';
import type { Tensor } from '../core/tensor.js';
import type { TextPipeline } from '../text/text-pipeline.js';

export interface RuntimeOptions {
  /** Threads ONNX Runtime may use inside one operator; 0 lets ORT choose. */
  intraOpThreads: number;
}

/** What a run knows of the request it serves: when its answer stops being wanted. */
export interface CallContext {
  /** Epoch milliseconds after which the caller no longer waits (its PLINTH_REQUEST_TIMEOUT_MS). */
  readonly deadline?: number;
  /** Calls `listener` if the caller goes away (disconnects) first; returns the unsubscribe. */
  onAbandon?(listener: () => void): () => void;
}

/** The contract every model runtime meets, as MLServer's: load once, then run. */
export interface ModelRuntime {
  readonly signature: Signature;
  /** Class labels the graph's classifier declares, if any. */
  readonly graphLabels?: (string | number)[];
  /**
   * True when a run moves its typed-array inputs to another thread (detached until it settles,
   * then `inputs[i].data` holds them again): a caller that keeps its own references to the arrays
   * runs through `copyingRuntime` instead.
   */
  readonly movesInputs?: boolean;
  run(inputs: Tensor[], outputNames: string[], call?: CallContext): Promise<Map<string, Tensor>>;
  dispose(): Promise<void>;
  /** Where it runs and how its queue is doing (GET /api/v1/runtime/sessions). */
  describe?(): RuntimeInfo;
}

export interface RuntimeInfo {
  execution: 'inline' | 'threads';
  instances: number;
  /** Why it runs there: `explicit`, or what the auto rule measured. */
  reason: string;
  /** Instance groups only: runs in progress, waiting, finished, and the requests refused or dropped. */
  busy?: number;
  queued?: number;
  runs?: number;
  rejectedFull?: number;
  rejectedTimeout?: number;
  deadlineExceeded?: number;
  abandoned?: number;
}

/**
 * The same runtime for a caller that keeps using its input arrays after the run (kernel SHAP
 * refills one buffer for every model call): a runtime that moves inputs gets a copy of them.
 */
export function copyingRuntime(runtime: ModelRuntime): ModelRuntime {
  if (!runtime.movesInputs) return runtime;
  const copy = (t: Tensor): Tensor => ({ ...t, data: ArrayBuffer.isView(t.data) ? (t.data.slice() as Tensor['data']) : t.data });
  return {
    signature: runtime.signature,
    graphLabels: runtime.graphLabels,
    run: (inputs, outputNames, call) => runtime.run(inputs.map(copy), outputNames, call),
    dispose: () => runtime.dispose(),
  };
}

/** A loaded model version ready to run: the session and what describeModel made of it. */
export interface ReadyModel {
  /** The name it is served under (a model or a deployment). */
  name: string;
  version: string;
  runtime: ModelRuntime;
  schema: ModelSchema;
  /** Requests holding more rows are refused with 413: the tighter of the manifest's runtime.max_rows and a deployment's maxBatchSize. */
  rowLimit?: RowLimit;
  /** Text steps run before the session (TF-IDF, a Keras tokenizer), when the manifest declares them. */
  pipeline?: TextPipeline;
}
