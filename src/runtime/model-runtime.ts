import type { ModelSchema, Signature } from '../core/model-schema.js';
import type { RowLimit } from '../core/row-limit.js';
import type { Tensor } from '../core/tensor.js';
import type { TextPipeline } from '../text/text-pipeline.js';

export interface RuntimeOptions {
  /** Threads ONNX Runtime may use inside one operator; 0 lets ORT choose. */
  intraOpThreads: number;
}

/** The contract every model runtime meets, as MLServer's: load once, then run. */
export interface ModelRuntime {
  readonly signature: Signature;
  /** Class labels the graph's classifier declares, if any. */
  readonly graphLabels?: (string | number)[];
  run(inputs: Tensor[], outputNames: string[]): Promise<Map<string, Tensor>>;
  dispose(): Promise<void>;
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
