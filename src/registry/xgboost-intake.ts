import { createHash } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify as toYaml } from 'yaml';
import { PlinthError } from '../core/errors.js';
import type { Manifest } from '../core/manifest.js';
import { loadXgboostJson, XgboostUnsupportedError, type XgboostModel } from '../explain/xgboost-json.loader.js';
import { formatBytes, invalid, tooLarge, type IntakeLimits } from './artifact-policy.js';
import type { IntakeFile } from './model-intake.service.js';
import { compileXgboost } from './xgboost-onnx.compiler.js';

/**
 * XGBoost JSON models at intake: an upload (or `--models` folder version) holding `model.json`
 * instead of model.onnx is compiled to model.onnx here, before ONNX Runtime's check, so the rest
 * of the registry and serving sees an ordinary ONNX version. The bundle keeps the booster as
 * `xgboost.json`, named by the manifest's `xgboost` key, for exact tree SHAP.
 */
export const XGBOOST_MODEL_FILE = 'model.json';
export const XGBOOST_ARTIFACT = 'xgboost.json';

/** Parses a booster; refusals name the file: 400 when it is not an XGBoost model, 422 when it is one Plinth does not serve. */
export function readXgboostModel(text: string, file: string): XgboostModel {
  try {
    return loadXgboostJson(text);
  } catch (err) {
    const message = (err as Error).message;
    if (err instanceof XgboostUnsupportedError) throw new PlinthError('LOAD_FAILED', `'${file}' cannot be served: ${message}`);
    throw invalid(file, message);
  }
}

/**
 * The manifest a compiled booster registers with: model.yaml's keys, `xgboost` naming the kept
 * JSON, and the booster's feature_names as the features when model.yaml lists none (without
 * names the features are f0 … f{n-1}, as XGBoost calls them).
 */
export function xgboostManifest(model: XgboostModel, manifest: Manifest | undefined): Manifest {
  if (manifest?.xgboost !== undefined) {
    throw invalid('model.yaml', `/xgboost is set by Plinth when it compiles ${XGBOOST_MODEL_FILE}; remove the key`);
  }
  const features = manifest?.features ?? model.featureNames?.map((name) => ({ name }));
  return { ...manifest, ...(features ? { features } : {}), xgboost: XGBOOST_ARTIFACT };
}

async function write(dir: string, path: string, bytes: Uint8Array | string): Promise<IntakeFile> {
  const data = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
  await writeFile(join(dir, path), data, { flag: 'wx', mode: 0o600 });
  return { path, size: data.length, sha256: createHash('sha256').update(data).digest('hex') };
}

/**
 * In the intake's model folder: compiles model.json to model.onnx, moves the JSON to
 * xgboost.json and writes the manifest as model.yaml. Returns the folder's files, the manifest,
 * and the booster's entry (the file the version is known by).
 */
export async function compileXgboostUpload(
  dir: string,
  files: readonly IntakeFile[],
  manifest: Manifest | undefined,
  limits: Pick<IntakeLimits, 'maxXgboostJsonBytes'>,
): Promise<{ files: IntakeFile[]; manifest: Manifest; model: IntakeFile }> {
  const source = files.find((f) => f.path === XGBOOST_MODEL_FILE)!;
  if (source.size > limits.maxXgboostJsonBytes) {
    throw tooLarge(`'${XGBOOST_MODEL_FILE}' is larger than the ${formatBytes(limits.maxXgboostJsonBytes)} limit for XGBoost JSON models`);
  }
  if (files.some((f) => f.path === XGBOOST_ARTIFACT)) {
    throw invalid(XGBOOST_ARTIFACT, `Plinth keeps the uploaded ${XGBOOST_MODEL_FILE} under this name; rename the other file`);
  }
  const model = readXgboostModel(await readFile(join(dir, XGBOOST_MODEL_FILE), 'utf8'), XGBOOST_MODEL_FILE);
  const registered = xgboostManifest(model, manifest);
  const onnx = await write(dir, 'model.onnx', compileXgboost(model));
  await rename(join(dir, XGBOOST_MODEL_FILE), join(dir, XGBOOST_ARTIFACT));
  const kept = { ...source, path: XGBOOST_ARTIFACT };
  const others = files.filter((f) => f.path !== XGBOOST_MODEL_FILE && f.path !== 'model.yaml');
  // model.yaml is written again so the bundle describes itself: downloaded, it uploads as an ONNX folder.
  await rm(join(dir, 'model.yaml'), { force: true });
  const written = await write(dir, 'model.yaml', toYaml(registered));
  return { files: [...others, kept, onnx, written], manifest: registered, model: kept };
}
