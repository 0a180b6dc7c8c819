/** Shared fixtures for the explanation tests: the breast-cancer data and models, ONNX Runtime runs. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describeModel, type ModelSchema } from '../../../src/core/model-schema.js';
import { parseManifest } from '../../../src/core/manifest.js';
import { OnnxRuntime } from '../../../src/runtime/onnx/onnx.runtime.js';
import { readOnnxGraph, type OnnxGraph } from '../../../src/runtime/onnx/onnx-graph.reader.js';
import type { Matrix } from '../../../src/explain/tree-ensemble.types.js';

export const ROOT = resolve(import.meta.dirname, '../../..');
export const SHARED = resolve(ROOT, '../shared/fixtures');
export const fixture = (name: string) => resolve(SHARED, name);
export const example = (name: string) => resolve(ROOT, 'examples/models', name, '1');

let csv: { names: string[]; matrix: Matrix; records: Record<string, number>[] } | undefined;

/** breast_cancer.csv: 569 rows, 30 features named by its header. */
export function breastCancer() {
  if (csv) return csv;
  const lines = readFileSync(fixture('breast_cancer.csv'), 'utf8').trim().split('\n');
  const names = lines[0]!.split(',');
  const rows = lines.slice(1).map((l) => l.split(',').map(Number));
  const data = new Float32Array(rows.length * names.length);
  rows.forEach((r, i) => data.set(r, i * names.length));
  const records = rows.map((r) => Object.fromEntries(names.map((n, j) => [n, r[j]!])));
  csv = { names, matrix: { data, rows: rows.length, cols: names.length }, records };
  return csv;
}

export const slice = (m: Matrix, from: number, to: number): Matrix => ({ data: m.data.slice(from * m.cols, to * m.cols), rows: to - from, cols: m.cols });

export interface LoadedModel {
  bytes: Uint8Array;
  graph: OnnxGraph;
  runtime: OnnxRuntime;
  schema: ModelSchema;
}

/** Loads a model the way the server does: runtime, graph, schema (with the manifest text when given). */
export async function loadModel(bytes: Uint8Array, manifestText = ''): Promise<LoadedModel> {
  const runtime = await OnnxRuntime.load(bytes, { intraOpThreads: 1 });
  const schema = describeModel(runtime.signature, runtime.graphLabels, parseManifest(manifestText));
  return { bytes, graph: readOnnxGraph(bytes), runtime, schema };
}

export const loadFile = (path: string, manifestText = '') => loadModel(readFileSync(path), manifestText);

/** Runs a session on a float matrix; returns each requested output's data. */
export async function runOrt(bytes: Uint8Array, m: Matrix, outputs: string[], input = 'input'): Promise<Record<string, Float32Array>> {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  try {
    const r = await session.run({ [input]: new ort.Tensor('float32', m.data, [m.rows, m.cols]) }, outputs);
    return Object.fromEntries(outputs.map((o) => [o, r[o]!.data as Float32Array]));
  } finally {
    await session.release();
  }
}

/** A model.yaml naming the 30 breast-cancer features (the shared fixtures come without one). */
export const breastCancerManifest = () => `features:\n${breastCancer().names.map((n) => `  - name: ${n}\n`).join('')}`;

/** A shared breast-cancer fixture loaded with its feature names. */
export const loadBreastCancer = (file: string) => loadFile(fixture(file), breastCancerManifest());
