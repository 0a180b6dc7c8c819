/**
 * The one model and record every benchmark scenario uses, shared by the reference server, the
 * in-process loop and the load generator so they cannot drift apart.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { parse } from 'yaml';

/** Paths hang off the repository root, not /work: CI runs from a clone with ../shared beside it. */
export const ROOT = resolve(import.meta.dirname, '..');
export const MODELS_DIR = join(ROOT, 'examples/models');
export const MODEL_NAME = 'breast-cancer';
const VERSION_DIR = join(MODELS_DIR, MODEL_NAME, '1');
const RECORD_FILE = resolve(ROOT, '../shared/fixtures/one_record.json');

/** Mirrors the options in src/runtime/onnx/onnx.runtime.ts (at Plinth's default of one intra-op thread). */
export const SESSION_OPTIONS: ort.InferenceSession.SessionOptions = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionProviders: ['cpu'],
  graphOptimizationLevel: 'all',
};

export type DataRecord = Record<string, number>;

/** Feature names in the model's input column order, as model.yaml lists them. */
export const FEATURES: string[] = (parse(readFileSync(join(VERSION_DIR, 'model.yaml'), 'utf8')) as { features: { name: string }[] })
  .features.map((f) => f.name);

export const RECORD: DataRecord = JSON.parse(readFileSync(RECORD_FILE, 'utf8')) as DataRecord;

export function openSession(): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(join(VERSION_DIR, 'model.onnx'), SESSION_OPTIONS);
}

/** One record as the model's float input [1, 30]: no checks, the bare minimum a server must do. */
export function toInput(record: DataRecord): ort.Tensor {
  const data = new Float32Array(FEATURES.length);
  for (let j = 0; j < FEATURES.length; j++) data[j] = record[FEATURES[j]!]!;
  return new ort.Tensor('float32', data, [1, FEATURES.length]);
}
