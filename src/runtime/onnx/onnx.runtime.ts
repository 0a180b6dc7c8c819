import { readFile } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import { fromOrtType, toOrtType } from '../../core/datatypes.js';
import type { Signature } from '../../core/model-schema.js';
import type { Tensor, TensorSpec } from '../../core/tensor.js';
import type { ModelRuntime, RuntimeInfo, RuntimeOptions } from '../model-runtime.js';
import { classLabelsOf, readOnnxGraph } from './onnx-graph.reader.js';
import { ortRunError } from './ort-run-error.js';

function specsOf(metadata: readonly ort.InferenceSession.ValueMetadata[], role: string): TensorSpec[] {
  return metadata.map((m) => {
    if (!m.isTensor) throw new Error(`${role} '${m.name}' is not a tensor (sequences and maps are not supported; export without ZipMap)`);
    const datatype = fromOrtType(m.type);
    if (!datatype) throw new Error(`${role} '${m.name}' has type ${m.type}, which Plinth does not support`);
    // Symbolic dimensions ("batch", "") are dynamic: -1, as in the Open Inference Protocol.
    return { name: m.name, datatype, shape: m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1)) };
  });
}

/** One ONNX Runtime session. Models come in as bytes so any blob store can supply them. */
export class OnnxRuntime implements ModelRuntime {
  /** Runs in progress; dispose() waits for them so a reload never frees a session mid-run. */
  private active = 0;
  private idle?: () => void;

  private constructor(
    private readonly session: ort.InferenceSession,
    readonly signature: Signature,
    readonly graphLabels: (string | number)[] | undefined,
    private readonly reason: string,
  ) {}

  describe(): RuntimeInfo {
    return { execution: 'inline', instances: 1, reason: this.reason };
  }

  /**
   * Loads from bytes, or from a path: a path lets ONNX Runtime find external data files beside
   * the model, which it cannot do for bytes.
   */
  static async load(model: Uint8Array | string, options: RuntimeOptions & { graphLabels?: (string | number)[]; reason?: string }): Promise<OnnxRuntime> {
    // ORT first: its reason for refusing a file ("Protobuf parsing failed") is the clearer one.
    const sessionOptions: ort.InferenceSession.SessionOptions = {
      intraOpNumThreads: options.intraOpThreads,
      interOpNumThreads: 1,
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'all',
    };
    const session = typeof model === 'string' ? await ort.InferenceSession.create(model, sessionOptions) : await ort.InferenceSession.create(model, sessionOptions);
    try {
      const signature = { inputs: specsOf(session.inputMetadata, 'input'), outputs: specsOf(session.outputMetadata, 'output') };
      // Labels read already (in a thread, by the wire-format reader) spare decoding the graph on this thread.
      if (options.graphLabels) return new OnnxRuntime(session, signature, options.graphLabels, options.reason ?? 'explicit');
      const bytes = typeof model === 'string' ? await readFile(model) : model;
      return new OnnxRuntime(session, signature, classLabelsOf(readOnnxGraph(bytes)), options.reason ?? 'explicit');
    } catch (err) {
      await session.release();
      throw err;
    }
  }

  /**
   * Inline runs are short by the auto rule and a native run cannot be interrupted, so the
   * request's CallContext is not needed here: the InferenceService refuses a request whose
   * deadline passed before it runs.
   */
  async run(inputs: Tensor[], outputNames: string[]): Promise<Map<string, Tensor>> {
    const feeds: Record<string, ort.Tensor> = {};
    for (const t of inputs) feeds[t.name] = new ort.Tensor(toOrtType(t.datatype), t.data as never, t.shape);
    this.active++;
    let results: ort.InferenceSession.ReturnType;
    try {
      results = await this.session.run(feeds, outputNames);
    } catch (err) {
      throw ortRunError(err, outputNames);
    } finally {
      if (--this.active === 0) this.idle?.();
    }
    const out = new Map<string, Tensor>();
    for (const name of outputNames) {
      const r = results[name]!;
      out.set(name, { name, datatype: fromOrtType(r.type)!, shape: [...r.dims], data: r.data as Tensor['data'] });
    }
    return out;
  }

  async dispose(): Promise<void> {
    // A request that picked this session in the current turn of the event loop calls run() before
    // the loop turns (only microtasks lie between): wait one turn so its run counts as active.
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (this.active > 0) await new Promise<void>((resolve) => (this.idle = resolve));
    await this.session.release();
  }
}
