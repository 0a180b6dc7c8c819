import { stat } from 'node:fs/promises';
import type { Manifest } from '../core/manifest.js';
import { describeModel } from '../core/model-schema.js';
import { LazyModel } from './lazy-model.js';
import type { ModelRuntime, ReadyModel, RuntimeOptions } from './model-runtime.js';
import type { SessionBudget } from './session-budget.js';

export type RuntimeLoader = (modelFile: string, options: RuntimeOptions) => Promise<ModelRuntime>;

export interface OpenVersion {
  /** The name it is served under (a model or a deployment). */
  name: string;
  version: string;
  /** A local model.onnx path. */
  file: string;
  manifest: Manifest;
  options: RuntimeOptions;
  /** Requests holding more rows are refused (a deployment's runtime setting). */
  maxBatchSize?: number;
}

/**
 * Loads one model version as a LazyModel charged to the budget: the session, and the schema
 * describeModel makes of it with its manifest. Throws the runtime's or the manifest's reason.
 */
export function openModelVersion(spec: OpenVersion, loadRuntime: RuntimeLoader, budget: SessionBudget, label: string): Promise<LazyModel> {
  const load = async (): Promise<ReadyModel> => {
    const runtime = await loadRuntime(spec.file, spec.options);
    try {
      const schema = describeModel(runtime.signature, runtime.graphLabels, spec.manifest);
      return { name: spec.name, version: spec.version, runtime, schema, ...(spec.maxBatchSize !== undefined && { maxBatchSize: spec.maxBatchSize }) };
    } catch (err) {
      await runtime.dispose();
      throw err;
    }
  };
  return stat(spec.file).then(({ size }) => LazyModel.open(label, size, load, budget));
}
