import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadFailureReason, PlinthError, printable } from '../core/errors.js';
import type { Manifest } from '../core/manifest.js';
import { checkStaticOutputs } from '../core/output-size.js';
import type { ModelSchema, Signature } from '../core/model-schema.js';
import { describeTextModel, loadTextPipeline } from '../text/text-pipeline.js';
import type { IntakeResult } from './model-intake.service.js';
import { readXgboostModel } from './xgboost-intake.js';

/** What loading a model once tells about it. */
export interface ValidatedGraph {
  signature: Signature;
  graphLabels?: (string | number)[];
}

/**
 * Loads the model file once (ONNX Runtime in a thread, in the app) and returns what the session
 * says; with the file's digest the app may keep the session for serving. Throws when the runtime
 * cannot load the model; the message is ORT's reason.
 */
export type ModelValidator = (modelFile: string, digest?: string) => Promise<ValidatedGraph>;

export interface ValidatedVersion extends ValidatedGraph {
  schema: ModelSchema;
  manifest: Manifest | undefined;
  metrics: Record<string, number>;
}

/**
 * Accepts an upload only if the runtime loads it and its model.yaml agrees with the graph (the
 * same describeModel the serving side runs, so a version that registers also serves).
 * Both failures are LOAD_FAILED (422): the upload was well-formed, the model is not usable.
 */
export async function validateVersion(intake: IntakeResult, validate: ModelValidator): Promise<ValidatedVersion> {
  let graph: ValidatedGraph;
  try {
    graph = await validate(join(intake.dir, 'model.onnx'), intake.model.sha256);
  } catch (err) {
    throw new PlinthError('LOAD_FAILED', `model.onnx was refused by ONNX Runtime: ${loadFailureReason(err)}`);
  }
  try {
    checkStaticOutputs(graph.signature);
  } catch (err) {
    throw new PlinthError('LOAD_FAILED', `model.onnx cannot be served: ${loadFailureReason(err)}`);
  }
  const manifest = intake.manifest;
  let schema: ModelSchema;
  try {
    // Declared text steps are checked too (their JSON artifacts, their fit to the graph), as serving will.
    const pipeline = manifest ? await loadTextPipeline(manifest, (path) => readFile(join(intake.dir, path), 'utf8'), graph.signature) : undefined;
    schema = describeTextModel(graph.signature, graph.graphLabels, manifest ?? {}, pipeline);
  } catch (err) {
    throw new PlinthError('LOAD_FAILED', `model.yaml does not match the model: ${loadFailureReason(err)}`);
  }
  // A booster compiled at intake (the version's model file) is this graph, whose width the schema
  // was just checked against; only a booster kept from elsewhere is read again and checked.
  if (manifest?.xgboost && intake.model.path !== manifest.xgboost) await checkXgboostArtifact(intake, manifest.xgboost, schema);
  return { signature: graph.signature, graphLabels: graph.graphLabels, schema, manifest, metrics: { ...(manifest?.metrics ?? {}) } };
}

/** The booster model.yaml's `xgboost` names must be in the upload and read the model's features (the explainer uses it as the graph's trees). */
async function checkXgboostArtifact(intake: IntakeResult, path: string, schema: ModelSchema): Promise<void> {
  if (!intake.files.some((f) => f.path === path)) {
    throw new PlinthError('LOAD_FAILED', `model.yaml /xgboost: '${printable(path, 120)}' is not in the upload`);
  }
  const booster = readXgboostModel(await readFile(join(intake.dir, path), 'utf8'), path);
  const width = schema.features?.length ?? 0;
  if (booster.numFeatures !== width) {
    throw new PlinthError('LOAD_FAILED', `model.yaml /xgboost: '${printable(path, 120)}' reads ${booster.numFeatures} features but the model ${width}`);
  }
}
