import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { loadManifestBackground } from '../explain/background.loader.js';
import { createExplainer, DEFAULT_EXPLAINER_LIMITS, type Explainer } from '../explain/explainer.js';
import type { LazyModel } from '../runtime/lazy-model.js';
import { readOnnxGraph } from '../runtime/onnx/onnx-graph.reader.js';

/**
 * The explainer of one loaded version: its graph (for tree and linear models), its manifest's
 * background (a file is read beside model.onnx), and the current session for kernel SHAP, taken
 * through the LazyModel so an evicted session is reloaded rather than used after release.
 */
export async function buildExplainer(model: LazyModel): Promise<Explainer> {
  const source = model.source;
  const graph = source ? readOnnxGraph(await readFile(source.file)) : undefined;
  const folder = source ? dirname(source.file) : undefined;
  const background = source
    ? await loadManifestBackground(source.manifest.background, (path) => readFile(join(folder!, path), 'utf8'), DEFAULT_EXPLAINER_LIMITS.maxBackgroundRows)
    : undefined;
  return createExplainer({
    schema: model.schema,
    graph,
    background,
    runtime: async () => (await model.acquire()).runtime,
  });
}
