import { invalidInput, PlinthError, printable } from '../core/errors.js';
import { noBestVersion, pickBest } from '../core/best-version.js';
import { assertModelName } from '../core/model-name.js';
import { decodePredictions } from '../core/prediction.decoder.js';
import { recordsToTensors } from '../core/records.mapper.js';
import { checkShape, type Tensor } from '../core/tensor.js';
import type { ModelManager, ModelStatus, ReadyModel } from '../runtime/model-manager.js';
import type { InferenceRequest, InferenceResponse, ModelDescription, Prediction, PredictOptions, VersionSelector } from './inference.types.js';

/**
 * The one data plane: every protocol adapter resolves models and runs predictions through
 * this service, so validation and behaviour are the same whatever the wire format.
 */
export class InferenceService {
  constructor(private readonly models: ModelManager) {}

  /** Resolves a model and version selector (`latest`, `best`, a number, or none) to a ready model. */
  resolve(name: string, selector?: VersionSelector): ReadyModel {
    assertModelName(name);
    if (selector === undefined || selector === 'latest') return this.models.get(name);
    if (selector === 'best') return this.best(name);
    if (!/^[0-9]{1,9}$/.test(selector)) {
      throw invalidInput(`version '${printable(selector, 40)}' is invalid: expected a version number, 'latest' or 'best'`);
    }
    return this.models.get(name, String(Number(selector)));
  }

  /** The `best` version by the rule in core/best-version.ts. */
  private best(name: string): ReadyModel {
    const ready = this.models.readyVersions(name);
    if (!ready.length) return this.models.get(name); // throws the unavailable reason
    const best = pickBest(ready, (m) => m.schema);
    if (!best) throw noBestVersion(name);
    return best.item;
  }

  describe(name: string, selector?: VersionSelector): ModelDescription {
    const model = this.resolve(name, selector);
    return {
      name: model.name,
      version: model.version,
      versions: this.models.status(name).versions.map((v) => v.version),
      platform: 'onnx',
      signature: model.runtime.signature,
      schema: model.schema,
    };
  }

  list(): ModelStatus[] {
    return this.models.list();
  }

  status(name: string): ModelStatus {
    assertModelName(name);
    return this.models.status(name);
  }

  /** Rescans the model repository and reports every model found, loaded or not. */
  index(): Promise<ModelStatus[]> {
    return this.models.index();
  }

  /** Loads (or reloads) every version of a model; fails with the reason when none can serve. */
  async load(name: string): Promise<ModelStatus> {
    assertModelName(name);
    const status = await this.models.load(name);
    if (!status.versions.some((v) => v.state === 'READY')) this.models.get(name); // throws the reason
    return status;
  }

  async unload(name: string): Promise<void> {
    assertModelName(name);
    await this.models.unload(name);
  }

  /** True when the model (or the given version) can serve now. */
  isReady(name: string, selector?: VersionSelector): boolean {
    try {
      this.resolve(name, selector);
      return true;
    } catch (err) {
      if (err instanceof PlinthError && err.code === 'MODEL_UNAVAILABLE') return false;
      throw err;
    }
  }

  async infer(name: string, selector: VersionSelector, request: InferenceRequest): Promise<InferenceResponse> {
    const model = this.resolve(name, selector);
    const { signature } = model.runtime;
    const given = new Map<string, Tensor>();
    for (const tensor of request.inputs) {
      const spec = signature.inputs.find((s) => s.name === tensor.name);
      if (!spec) {
        throw invalidInput(`unknown input '${printable(tensor.name, 60)}'; model '${name}' takes ${signature.inputs.map((s) => `'${s.name}'`).join(', ')}`);
      }
      if (given.has(tensor.name)) throw invalidInput(`input '${tensor.name}' is given twice`);
      checkShape(tensor, spec);
      given.set(tensor.name, tensor);
    }
    const missing = signature.inputs.filter((s) => !given.has(s.name));
    if (missing.length) {
      throw invalidInput(`missing input ${missing.map((s) => `'${s.name}' (${s.datatype} [${s.shape.join(', ')}])`).join(', ')}`);
    }
    const outputNames = request.outputs ?? signature.outputs.map((o) => o.name);
    for (const out of outputNames) {
      if (!signature.outputs.some((o) => o.name === out)) {
        throw invalidInput(`unknown output '${printable(out, 60)}'; model '${name}' has ${signature.outputs.map((o) => `'${o.name}'`).join(', ')}`);
      }
    }
    const results = await model.runtime.run([...given.values()], outputNames);
    return { modelName: model.name, modelVersion: model.version, id: request.id, outputs: outputNames.map((n) => results.get(n)!) };
  }

  /** Record-level prediction: records keyed by feature name in, labels / values and probabilities out. */
  async predict(name: string, selector: VersionSelector, records: unknown[], options: PredictOptions = {}): Promise<Prediction> {
    const model = this.resolve(name, selector);
    const inputs = recordsToTensors(model.schema, records, options);
    const outputs = await model.runtime.run(inputs, model.runtime.signature.outputs.map((o) => o.name));
    const decoded = decodePredictions(model.schema, outputs, records.length, options.probabilities ?? true);
    return { modelName: model.name, modelVersion: model.version, schema: model.schema, ...decoded };
  }

  /** The name served at the single-model routes (/predict, /invocations), when exactly one model is served. */
  soleModel(): string {
    const all = this.models.list();
    if (all.length !== 1) {
      throw new PlinthError('NOT_FOUND', `this server serves ${all.length} models, so name the model in the path: /models/{name}/predict, /models/{name}/invocations or /models/{name}/info`);
    }
    return all[0]!.name;
  }
}
