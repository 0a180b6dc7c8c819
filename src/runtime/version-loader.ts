import { readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Manifest } from '../core/manifest.js';
import type { ExecutionOverrides } from './execution-settings.js';
import { checkStaticOutputs } from '../core/output-size.js';
import { tightestRowLimit, type RowLimit } from '../core/row-limit.js';
import { describeTextModel, loadTextPipeline } from '../text/text-pipeline.js';
import { LazyModel } from './lazy-model.js';
import type { ModelRuntime, ReadyModel, RuntimeOptions } from './model-runtime.js';
import type { SessionBudget } from './session-budget.js';

/** What a runtime needs to load one version where it should run. */
export interface RuntimeLoadSpec {
  file: string;
  options: RuntimeOptions;
  /** The manifest's instance_group and then a deployment's settings (most specific last). */
  execution: (ExecutionOverrides | undefined)[];
  /** SHA-256 of the model file, when known: finds a session upload validation already loaded. */
  digest?: string;
  /** For logs and messages: `model 'iris' version 2`. */
  label: string;
}

export type RuntimeLoader = (spec: RuntimeLoadSpec) => Promise<ModelRuntime>;

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
  /** A deployment's execution settings, over the manifest's instance_group. */
  execution?: ExecutionOverrides;
  /** SHA-256 of the model file (the registry version's). */
  digest?: string;
}

/** The manifest's instance_group as execution overrides. */
function manifestExecution(manifest: Manifest): ExecutionOverrides | undefined {
  const group = manifest.instance_group;
  if (!group) return undefined;
  return {
    ...(group.execution !== undefined && { execution: group.execution }),
    ...(group.count !== undefined && { instances: group.count }),
    ...(group.max_queue_size !== undefined && { maxQueueSize: group.max_queue_size }),
    ...(group.queue_timeout_ms !== undefined && { queueTimeoutMs: group.queue_timeout_ms }),
  };
}

/** The model's own row limit: its model.yaml's runtime.max_rows, or its deployment's maxBatchSize when that is tighter. */
function modelRowLimit({ name, manifest, maxBatchSize }: OpenVersion): RowLimit | undefined {
  const owner = `'${name}'`;
  const maxRows = manifest.runtime?.max_rows;
  return tightestRowLimit(
    maxRows === undefined ? undefined : { rows: maxRows, owner, setting: 'runtime.max_rows in its model.yaml' },
    maxBatchSize === undefined ? undefined : { rows: maxBatchSize, owner, setting: "its deployment's runtime.maxBatchSize" },
  );
}

/**
 * Loads one model version as a LazyModel charged to the budget: the session, and the schema
 * describeModel makes of it with its manifest. Throws the runtime's or the manifest's reason.
 */
export function openModelVersion(spec: OpenVersion, loadRuntime: RuntimeLoader, budget: SessionBudget, label: string): Promise<LazyModel> {
  const load = async (): Promise<ReadyModel> => {
    const runtime = await loadRuntime({
      file: spec.file,
      options: spec.options,
      execution: [manifestExecution(spec.manifest), spec.execution],
      ...(spec.digest !== undefined && { digest: spec.digest }),
      label,
    });
    try {
      checkStaticOutputs(runtime.signature);
      // Declared text steps read their JSON artifacts from beside model.onnx, checked now so a bad one fails the load.
      const pipeline = await loadTextPipeline(spec.manifest, (path) => readFile(join(dirname(spec.file), path), 'utf8'), runtime.signature);
      const schema = describeTextModel(runtime.signature, runtime.graphLabels, spec.manifest, pipeline);
      return {
        name: spec.name,
        version: spec.version,
        runtime,
        schema,
        ...(pipeline?.preprocesses && { pipeline }),
        rowLimit: modelRowLimit(spec),
      };
    } catch (err) {
      await runtime.dispose();
      throw err;
    }
  };
  return stat(spec.file).then(({ size }) => LazyModel.open(label, size, load, budget, { file: spec.file, manifest: spec.manifest }));
}
