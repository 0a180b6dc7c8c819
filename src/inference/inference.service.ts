import { deadlineExceeded, invalidInput, loadFailureReason, PlinthError, printable } from '../core/errors.js';
import { noBestVersion, pickBest } from '../core/best-version.js';
import { assertModelName } from '../core/model-name.js';
import { decodePredictions } from '../core/prediction.decoder.js';
import { recordsToTensors } from '../core/records.mapper.js';
import { checkRowCount, tightestRowLimit, type RowLimit } from '../core/row-limit.js';
import { checkFinite, checkShape, type Tensor } from '../core/tensor.js';
import type { ExplainerInfo, ExplainOptions, Explainer, GlobalImportance } from '../explain/explainer.js';
import type { Matrix } from '../explain/tree-ensemble.types.js';
import type { LazyModel } from '../runtime/lazy-model.js';
import type { CallContext } from '../runtime/model-runtime.js';
import { rowsFromTensors } from './explain-input.js';
import { buildExplainer } from './explainer.factory.js';
import type { ModelManager, ModelStatus, ReadyModel } from '../runtime/model-manager.js';
import type {
  InferenceRequest,
  InferenceResponse,
  ModelExplanation,
  ModelDescription,
  Prediction,
  PredictOptions,
  ReferenceResolver,
  ServedDeployments,
  VersionSelector,
} from './inference.types.js';

/** A version selector that is a number, normalised ('007' -> '7'). */
export function versionNumber(selector: string): string {
  if (!/^[0-9]{1,9}$/.test(selector)) {
    throw invalidInput(`version '${printable(selector, 40)}' is invalid: expected a version number, 'latest' or 'best'`);
  }
  return String(Number(selector));
}

/**
 * For a model with declared text steps, a BYTES tensor named after its text feature becomes the
 * tensors the steps make (tokens, TF-IDF vectors); other inputs pass as they are.
 */
function textInputs(model: ReadyModel, inputs: Tensor[]): Tensor[] {
  const pipeline = model.pipeline;
  if (!pipeline) return inputs;
  const text = inputs.find((t) => t.name === pipeline.feature.name && t.datatype === 'BYTES');
  if (!text) return inputs;
  return [...inputs.filter((t) => t !== text), ...pipeline.toTensors(text.data as string[])];
}

/** A request whose deadline passed while it waited or was decoded is not run at all, whatever runtime serves it. */
function checkDeadline(model: ReadyModel, call: CallContext | undefined): void {
  if (call?.deadline !== undefined && Date.now() >= call.deadline) throw deadlineExceeded(`model '${model.name}' version ${model.version}`);
}

/**
 * The one data plane: every protocol adapter resolves models and runs predictions through
 * this service, so validation and behaviour are the same whatever the wire format.
 */
export class InferenceService {
  private readonly explainers = new WeakMap<LazyModel, Promise<Explainer>>();

  constructor(
    private readonly models: ModelManager,
    private readonly deployments?: ServedDeployments,
    private readonly resolveReference?: ReferenceResolver,
    /** The server-wide row ceiling (PLINTH_MAX_ROWS), also checked while bodies are decoded. */
    readonly rowLimit?: RowLimit,
  ) {}

  /** Rows past the tightest of the server's, the model's and its deployment's limits are refused before any work. */
  private checkBatch(model: ReadyModel, rows: number): void {
    checkRowCount(rows, tightestRowLimit(this.rowLimit, model.rowLimit));
  }

  /**
   * What serves `name`: a deployment (by name or id), a model reference (`iris@production`,
   * `models:/iris/3`), or a model name with a version selector (`latest`, `best`, a number, none).
   * `forRequest` counts the pick in a deployment's canary statistics.
   */
  private select(name: string, selector: VersionSelector, forRequest: boolean): LazyModel | Promise<LazyModel> {
    const deployment = this.deployments?.find(name);
    if (deployment) return deployment.choose(selector, forRequest);
    if (this.resolveReference && (name.includes('@') || name.startsWith('models:/'))) return this.selectReference(name, selector);
    assertModelName(name);
    if (selector === undefined || selector === 'latest') return this.models.pick(name);
    if (selector === 'best') return this.best(name);
    return this.models.pick(name, versionNumber(selector));
  }

  private async selectReference(reference: string, selector: VersionSelector): Promise<LazyModel> {
    if (selector !== undefined && selector !== 'latest') {
      throw invalidInput(`'${printable(reference, 80)}' already names its version: do not give version '${printable(selector, 20)}' too`);
    }
    const { name, version } = await this.resolveReference!(reference);
    return this.models.pick(name, version);
  }

  /**
   * The ready model to run, reloading its session if the memory budget evicted it. No promise
   * when it is loaded and named plainly: the hot path should not pay microtask hops per request.
   */
  private resolve(name: string, selector: VersionSelector): ReadyModel | Promise<ReadyModel> {
    const selected = this.select(name, selector, true);
    return selected instanceof Promise ? selected.then((m) => m.acquire()) : selected.acquire();
  }

  /** The `best` version by the rule in core/best-version.ts. */
  private best(name: string): LazyModel {
    const ready = this.models.readyVersions(name);
    if (!ready.length) return this.models.pick(name); // throws the unavailable reason
    const best = pickBest(ready, (m) => m.schema);
    if (!best) throw noBestVersion(name);
    return best.item;
  }

  async describe(name: string, selector?: VersionSelector): Promise<ModelDescription> {
    const model = await this.select(name, selector, false);
    return {
      name: model.name,
      version: model.version,
      versions: this.deployments?.find(name)?.versions() ?? this.models.status(model.name).versions.map((v) => v.version),
      platform: 'onnx',
      signature: model.signature,
      schema: model.schema,
    };
  }

  /** Whether a model of that name is served (in any state), without a promise: the access check asks on every call. */
  serves(name: string): boolean {
    return this.models.has(name);
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
    if (!status.versions.some((v) => v.state === 'READY')) this.models.pick(name); // throws the reason
    return status;
  }

  async unload(name: string): Promise<void> {
    assertModelName(name);
    await this.models.unload(name);
  }

  /** True when the model (or the given version) can serve now. */
  async isReady(name: string, selector?: VersionSelector): Promise<boolean> {
    try {
      await this.select(name, selector, false);
      return true;
    } catch (err) {
      if (err instanceof PlinthError && err.code === 'MODEL_UNAVAILABLE') return false;
      throw err;
    }
  }

  async infer(name: string, selector: VersionSelector, request: InferenceRequest, call?: CallContext): Promise<InferenceResponse> {
    const found = this.resolve(name, selector);
    const model = found instanceof Promise ? await found : found;
    const { signature } = model.runtime;
    const given = new Map<string, Tensor>();
    for (const tensor of textInputs(model, request.inputs)) {
      const spec = signature.inputs.find((s) => s.name === tensor.name);
      if (!spec) {
        throw invalidInput(`unknown input '${printable(tensor.name, 60)}'; model '${name}' takes ${signature.inputs.map((s) => `'${s.name}'`).join(', ')}`);
      }
      if (given.has(tensor.name)) throw invalidInput(`input '${tensor.name}' is given twice`);
      checkShape(tensor, spec);
      checkFinite(tensor, model.schema.allowNonFinite);
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
    this.checkBatch(model, request.inputs[0]?.shape[0] ?? 0);
    checkDeadline(model, call);
    const results = await model.runtime.run([...given.values()], outputNames, call);
    return { modelName: model.name, modelVersion: model.version, id: request.id, outputs: outputNames.map((n) => results.get(n)!) };
  }

  /** Record-level prediction: records keyed by feature name in, labels / values and probabilities out. */
  async predict(name: string, selector: VersionSelector, records: unknown[], options: PredictOptions = {}, call?: CallContext): Promise<Prediction> {
    const found = this.resolve(name, selector);
    const model = found instanceof Promise ? await found : found;
    this.checkBatch(model, records.length);
    const inputs = model.pipeline ? model.pipeline.recordsToTensors(records, options) : recordsToTensors(model.schema, records, options);
    checkDeadline(model, call);
    const outputs = await model.runtime.run(inputs, model.runtime.signature.outputs.map((o) => o.name), call);
    const decoded = decodePredictions(model.schema, outputs, records.length, options.probabilities ?? true);
    return { modelName: model.name, modelVersion: model.version, schema: model.schema, ...decoded };
  }

  // -- explanations ----------------------------------------------------------------------------

  /** One explainer per loaded version, built on first use (graph, background, session). */
  private explainerOf(model: LazyModel): Promise<Explainer> {
    let explainer = this.explainers.get(model);
    if (!explainer) {
      explainer = buildExplainer(model);
      this.explainers.set(model, explainer);
      explainer.catch(() => this.explainers.delete(model));
    }
    return explainer;
  }

  /** SHAP values per record and output for records (or a feature matrix), with base values, method and output space. */
  async explain(name: string, selector: VersionSelector, rows: unknown[] | Matrix, options: ExplainOptions = {}): Promise<ModelExplanation> {
    const model = await this.select(name, selector, true);
    const explanation = await (await this.explainerOf(model)).explain(rows, options);
    return { modelName: model.name, modelVersion: model.version, explanation };
  }

  /** The same for Open Inference tensors (the packed [N, F] input, or one input per feature). */
  async explainTensors(name: string, selector: VersionSelector, tensors: Tensor[], options: ExplainOptions = {}): Promise<ModelExplanation> {
    const model = await this.select(name, selector, false);
    return this.explain(name, selector, rowsFromTensors(name, model.schema, tensors), options);
  }

  /** Whether and how the model is explained (GET /models/{name}/info); a broken background makes it unexplainable, not the call fail. */
  async explainability(name: string): Promise<ExplainerInfo> {
    const model = await this.select(name, undefined, false);
    try {
      return (await this.explainerOf(model)).info();
    } catch (err) {
      return { explainable: false, family: 'other', method: 'kernel-shap', outputSpace: 'raw', needsBackground: true, hasBackground: false, reason: loadFailureReason(err) };
    }
  }

  /** Mean |SHAP| per feature over the stored background; undefined when the model has none to average over. */
  async importance(name: string): Promise<GlobalImportance | undefined> {
    const explainer = await this.explainerOf(await this.select(name, undefined, false)).catch(() => undefined);
    if (!explainer) return undefined;
    const info = explainer.info();
    // Global importance averages over the stored background: without one (a tree model with its own cover included) there is none.
    if (!info.explainable || !info.hasBackground) return undefined;
    return explainer.globalImportance();
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
