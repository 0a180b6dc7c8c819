/**
 * The two example intent models (examples/build-text-models.py) through onnxruntime-node, wired
 * the way serving wires them: manifest -> loadTextPipeline -> describeTextModel -> records to
 * tensors -> OnnxRuntime.run -> decodePredictions. Probabilities must match what the build
 * script computed (sklearn's predict_proba; the numpy network) to 1e-5 (issue 5, "Exactness").
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseManifest } from '../../src/core/manifest.js';
import { decodePredictions } from '../../src/core/prediction.decoder.js';
import { recordsToTensors } from '../../src/core/records.mapper.js';
import { tensorToElements } from '../../src/core/tensor.js';
import { OnnxRuntime } from '../../src/runtime/onnx/onnx.runtime.js';
import { describeTextModel, loadTextPipeline } from '../../src/text/text-pipeline.js';
import { textFixture } from './fixtures.js';

const MODELS = resolve(import.meta.dirname, '../../examples/models');

interface Expected {
  texts: string[];
  tfidf: { labels: string[]; probabilities: number[][] };
  keras: { sequences: number[][]; labels: string[]; probabilities: number[][] };
}
const expected = textFixture<Expected>('intent-examples.json');

async function open(name: string) {
  const folder = resolve(MODELS, name, '1');
  const manifest = parseManifest(await readFile(resolve(folder, 'model.yaml'), 'utf8'));
  const runtime = await OnnxRuntime.load(resolve(folder, 'model.onnx'), { intraOpThreads: 1 });
  const pipeline = await loadTextPipeline(manifest, (path) => readFile(resolve(folder, path), 'utf8'), runtime.signature);
  const schema = describeTextModel(runtime.signature, runtime.graphLabels, manifest, pipeline);
  return { runtime, pipeline, schema };
}

function assertProbabilities(actual: number[][], wanted: number[][], texts: string[]) {
  let worst = 0;
  actual.forEach((row, r) => row.forEach((p, c) => {
    const diff = Math.abs(p - wanted[r]![c]!);
    worst = Math.max(worst, diff);
    assert.ok(diff <= 1e-5, `text ${r} ${JSON.stringify(texts[r])} class ${c}: ${p} vs ${wanted[r]![c]}`);
  }));
  return worst;
}

test('intents-tfidf (whole graph: string tensor in) matches sklearn predict_proba to 1e-5', async () => {
  const { runtime, pipeline, schema } = await open('intents-tfidf');
  try {
    assert.equal(pipeline, undefined);
    assert.deepEqual(runtime.signature.inputs, [{ name: 'input', datatype: 'BYTES', shape: [-1, 1] }]);
    assert.equal(schema.binding?.mode, 'packed');
    const records = expected.texts.map((text) => ({ text }));
    const outputs = await runtime.run(recordsToTensors(schema, records), ['label', 'probabilities']);
    const decoded = decodePredictions(schema, outputs, records.length);
    assertProbabilities(decoded.probabilities!, expected.tfidf.probabilities, expected.texts);
    assert.deepEqual(decoded.predictions, expected.tfidf.labels);
  } finally {
    await runtime.dispose();
  }
});

test('intents-keras (tokenizer.json + network + labels.json) matches the numpy network to 1e-5', async () => {
  const { runtime, pipeline, schema } = await open('intents-keras');
  try {
    assert.ok(pipeline);
    assert.deepEqual(pipeline.steps, [{ type: 'keras_tokenizer', artifact: 'tokenizer.json', input: 'input', datatype: 'INT64', shape: [-1, 20] }]);
    assert.deepEqual(schema.features, [{ name: 'text', type: 'text', description: "The customer's message" }]);
    assert.equal(schema.binding, undefined);
    assert.equal(schema.task, 'multiclass_classification');
    assert.deepEqual(schema.classes, pipeline.classes);
    assert.equal(schema.probabilitiesOutput, 'probabilities');

    const records = expected.texts.map((text) => ({ text }));
    const inputs = pipeline.recordsToTensors(records);
    assert.deepEqual(tensorToElements(inputs[0]!), expected.keras.sequences.flat());
    const outputs = await runtime.run(inputs, ['probabilities']);
    const decoded = decodePredictions(schema, outputs, records.length);
    assertProbabilities(decoded.probabilities!, expected.keras.probabilities, expected.texts);
    assert.deepEqual(decoded.predictions, expected.keras.labels);
    // The pipeline's own post-step agrees with the generic decoder.
    assert.deepEqual(pipeline.decode(outputs, records.length)?.labels, expected.keras.labels);
  } finally {
    await runtime.dispose();
  }
});
