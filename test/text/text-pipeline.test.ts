import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseManifest, type Manifest } from '../../src/core/manifest.js';
import type { Signature } from '../../src/core/model-schema.js';
import { PlinthError } from '../../src/core/errors.js';
import { tensorToElements, type Tensor } from '../../src/core/tensor.js';
import { describeTextModel, loadTextPipeline, type ReadArtifact } from '../../src/text/text-pipeline.js';

const TFIDF = { vocabulary: { hello: 0, world: 1, bye: 2 }, idf: [1, 2, 3] };
const TOKENIZER = { word_index: { '<OOV>': 1, hello: 2, world: 3 }, oov_token: '<OOV>' };
const LABELS = { classes: ['greeting', 'goodbye'] };

/** An in-memory model folder; a missing file rejects with ENOENT, as fs.readFile does. */
function folder(files: Record<string, unknown>): ReadArtifact {
  return async (path) => {
    if (!Object.hasOwn(files, path)) throw Object.assign(new Error(`ENOENT: no such file or directory, open '/srv/models/x/1/${path}'`), { code: 'ENOENT' });
    const body = files[path];
    return typeof body === 'string' ? body : JSON.stringify(body);
  };
}
const files = folder({ 'tfidf.json': TFIDF, 'tokenizer.json': TOKENIZER, 'labels.json': LABELS });

const sig = (inputs: Signature['inputs'], outputs: Signature['outputs'] = [{ name: 'probabilities', datatype: 'FP32', shape: [-1, 2] }]): Signature => ({ inputs, outputs });
const floatInput = sig([{ name: 'input', datatype: 'FP32', shape: [-1, 3] }]);
const seqInput = (datatype: 'INT64' | 'INT32' | 'FP32' = 'INT64', width = 4) => sig([{ name: 'input', datatype, shape: [-1, width] }]);

const yaml = (text: string) => parseManifest(text);
const rejects = (p: Promise<unknown>, message: RegExp) =>
  assert.rejects(p, (err: Error) => {
    assert.match(err.message, message);
    return true;
  });

test('model.yaml accepts preprocessing and postprocessing lists and refuses unsafe artifact paths', () => {
  const m = yaml('preprocessing:\n  - {type: keras_tokenizer, artifact: tokenizer.json, maxlen: 20, padding: post, truncating: post, input: input}\npostprocessing:\n  - {type: label_decoder, artifact: labels.json}\n');
  assert.equal(m.preprocessing?.[0]?.maxlen, 20);
  assert.equal(m.postprocessing?.[0]?.artifact, 'labels.json');
  for (const bad of ['../secret.json', '/etc/x.json', 'a/../../b.json', 'tfidf.pkl', 'C:/x.json']) {
    assert.throws(() => yaml(`preprocessing:\n  - {type: tfidf, artifact: '${bad}'}\n`), /model\.yaml \/preprocessing\/0\/artifact/, bad);
  }
  assert.throws(() => yaml('preprocessing:\n  - {type: tfidf, artifact: t.json, lowercase: true}\n'), /model\.yaml \/preprocessing\/0\/lowercase: Unexpected property/);
  assert.throws(() => yaml('preprocessing: []\n'), /model\.yaml \/preprocessing/);
});

test('no preprocessing or postprocessing: no pipeline', async () => {
  assert.equal(await loadTextPipeline({}, files), undefined);
});

test('a tfidf step makes [N, V] float rows for the model input; records are checked like the records mapper', async () => {
  const p = (await loadTextPipeline(yaml('preprocessing:\n  - {type: tfidf, artifact: tfidf.json}\n'), files, floatInput))!;
  assert.deepEqual(p.feature, { name: 'text', type: 'text' });
  assert.deepEqual(p.steps, [{ type: 'tfidf', artifact: 'tfidf.json', input: 'input', datatype: 'FP32', shape: [-1, 3] }]);
  const [t] = p.recordsToTensors([{ text: 'Hello hello' }, { text: 'bye world' }, { text: '' }]);
  assert.equal(t!.datatype, 'FP32');
  assert.deepEqual(t!.shape, [3, 3]);
  const v = tensorToElements(t!) as number[];
  assert.deepEqual(v.slice(0, 3), [1, 0, 0]);
  assert.ok(Math.abs(v[4]! - 2 / Math.sqrt(13)) < 1e-7 && Math.abs(v[5]! - 3 / Math.sqrt(13)) < 1e-7);
  assert.deepEqual(v.slice(6), [0, 0, 0]);

  const bad = (records: unknown[], message: RegExp) =>
    assert.throws(() => p.recordsToTensors(records), (err: Error) => err instanceof PlinthError && err.code === 'INVALID_INPUT' && message.test(err.message));
  bad([], /expected at least one record/);
  bad([{}], /record 0: missing feature 'text'/);
  bad([{ text: 'a' }, { txt: 'b' }], /record 1: unknown feature 'txt'; the model expects 1 feature: text/);
  bad([{ text: ['a'] }], /record 0: feature 'text' expected a string, got an array/);
  bad(['hello'], /record 0: expected an object keyed by feature name/);
  assert.equal(p.recordsToTensors([{ text: 42 }])[0]!.shape[0], 1);
});

test('FP64 inputs get float64 rows; a named feature with a default fills missing texts', async () => {
  const m = yaml('features: [{name: message, type: text, default: hello}]\npreprocessing:\n  - {type: tfidf, artifact: tfidf.json, input: x}\n');
  const p = (await loadTextPipeline(m, files, sig([{ name: 'x', datatype: 'FP64', shape: [-1, -1] }])))!;
  const [t] = p.recordsToTensors([{}, { message: null }], { rowLabel: (r) => `row ${r}` });
  assert.ok(t!.data instanceof Float64Array);
  assert.deepEqual(tensorToElements(t!), [1, 0, 0, 1, 0, 0]);
  assert.throws(() => p.recordsToTensors([{ text: 'x' }], { rowLabel: (r) => `row ${r}` }), /row 0: unknown feature 'text'/);
});

test('a keras_tokenizer step pads to maxlen and writes the input datatype (INT64, INT32, FP32)', async () => {
  const m = (extra = '') => yaml(`preprocessing:\n  - {type: keras_tokenizer, artifact: tokenizer.json, padding: post${extra}}\n`);
  const run = async (datatype: 'INT64' | 'INT32' | 'FP32') => {
    const p = (await loadTextPipeline(m(), files, seqInput(datatype)))!;
    return p.toTensors(['Hello, world! zebra', 'hello hello hello hello hello world'])[0]!;
  };
  const t64 = await run('INT64');
  assert.ok(t64.data instanceof BigInt64Array);
  assert.deepEqual(t64.shape, [2, 4]);
  // truncating defaults to 'pre' (Keras' default): the last 4 indices are kept.
  assert.deepEqual(tensorToElements(t64), [2, 3, 1, 0, 2, 2, 2, 3]);
  assert.ok((await run('INT32')).data instanceof Int32Array);
  assert.deepEqual(tensorToElements(await run('FP32')), [2, 3, 1, 0, 2, 2, 2, 3]);
  // maxlen from the manifest when the input width is dynamic; value fills the padding.
  const p = (await loadTextPipeline(m(', maxlen: 3, value: -1, truncating: post'), files, seqInput('INT64', -1)))!;
  assert.deepEqual(tensorToElements(p.toTensors(['world', 'hello hello hello world'])[0]!), [3, -1, -1, 2, 2, 2]);
  // Without a signature: INT64, input 'input', maxlen required.
  const bare = (await loadTextPipeline(m(', maxlen: 2'), files))!;
  assert.deepEqual(bare.steps[0], { type: 'keras_tokenizer', artifact: 'tokenizer.json', input: 'input', datatype: 'INT64', shape: [-1, 2] });
});

test('two steps feed two inputs, in manifest order', async () => {
  const m = yaml('preprocessing:\n  - {type: keras_tokenizer, artifact: tokenizer.json, input: seq}\n  - {type: tfidf, artifact: tfidf.json, input: bow}\n');
  const p = (await loadTextPipeline(m, files, sig([{ name: 'bow', datatype: 'FP32', shape: [-1, 3] }, { name: 'seq', datatype: 'INT32', shape: [-1, 2] }])))!;
  const tensors = p.toTensors(['hello world']);
  assert.deepEqual(tensors.map((t: Tensor) => [t.name, t.shape]), [['seq', [1, 2]], ['bow', [1, 3]]]);
});

test('postprocessing: label_decoder turns probabilities or class indices into names; describeTextModel takes its classes', async () => {
  const m = yaml('preprocessing:\n  - {type: tfidf, artifact: tfidf.json}\npostprocessing:\n  - {type: label_decoder, artifact: labels.json}\n');
  const p = (await loadTextPipeline(m, files, floatInput))!;
  assert.deepEqual(p.classes, ['greeting', 'goodbye']);
  const probs: Tensor = { name: 'probabilities', datatype: 'FP32', shape: [2, 2], data: new Float32Array([0.9, 0.1, 0.25, 0.75]) };
  const decoded = p.decode(new Map([['probabilities', probs]]), 2)!;
  assert.deepEqual(decoded.labels, ['greeting', 'goodbye']);
  assert.ok(Math.abs(decoded.probabilities![1]![1]! - 0.75) < 1e-7);
  const schema = describeTextModel(floatInput, undefined, m, p);
  assert.deepEqual(schema.classes, ['greeting', 'goodbye']);
  assert.equal(schema.task, 'binary_classification');
  assert.deepEqual(schema.features, [{ name: 'text', type: 'text' }]);

  // An output of class indices: the schema's label output, decoded by index.
  const indexSig = sig(floatInput.inputs, [{ name: 'class_id', datatype: 'INT64', shape: [-1] }]);
  const m2 = yaml('preprocessing:\n  - {type: tfidf, artifact: tfidf.json}\npostprocessing:\n  - {type: label_decoder, artifact: labels.json, output: class_id}\n');
  const p2 = (await loadTextPipeline(m2, files, indexSig))!;
  const ids: Tensor = { name: 'class_id', datatype: 'INT64', shape: [3], data: new BigInt64Array([1n, 0n, 1n]) };
  assert.deepEqual(p2.decode(new Map([['class_id', ids]]), 3)!.labels, ['goodbye', 'greeting', 'goodbye']);
  // One probability per row (P(second class)) for two classes.
  const single: Tensor = { name: 'probabilities', datatype: 'FP32', shape: [2, 1], data: new Float32Array([0.25, 0.75]) };
  assert.deepEqual(p.decode(new Map([['probabilities', single]]), 2)!.labels, ['greeting', 'goodbye']);
  const s2 = describeTextModel(indexSig, undefined, m2, p2);
  assert.equal(s2.labelOutput, 'class_id');
  assert.deepEqual(s2.classes, ['greeting', 'goodbye']);
});

test('load-time errors name the artifact or the model.yaml key, and what was expected', async () => {
  const pre = (step: string, extra = '') => yaml(`${extra}preprocessing:\n  - ${step}\n`);
  const broken = folder({
    'tfidf.json': { ...TFIDF, idf: [1, 2, 3, 4, 5] },
    'tfidf-ok.json': TFIDF,
    'vocab-only.json': { vocabulary: TFIDF.vocabulary },
    'not-json.json': '{"vocabulary": ',
    'tokenizer.json': TOKENIZER,
    'labels.json': { classes: ['a', 'b', 'c'] },
    'labels-dup.json': ['a', 'a'],
  });
  // Missing file, invalid JSON, wrong idf length, missing idf.
  await rejects(loadTextPipeline(pre('{type: tfidf, artifact: vocabulary.json}'), broken), /^vocabulary\.json: not found in the model's folder \(\/preprocessing\/0 names it\)$/);
  await rejects(loadTextPipeline(pre('{type: tfidf, artifact: not-json.json}'), broken), /^not-json\.json: is not valid JSON/);
  await rejects(loadTextPipeline(pre('{type: tfidf, artifact: tfidf.json}'), broken), /^tfidf\.json: idf has 5 values but the vocabulary 3 words$/);
  await rejects(loadTextPipeline(pre('{type: tfidf, artifact: vocab-only.json}'), broken), /^vocab-only\.json: idf must be an array of 3 numbers/);
  // Unknown step types; keys of the other step type.
  await rejects(loadTextPipeline(pre('{type: bert, artifact: tfidf.json}'), files), /^model\.yaml \/preprocessing\/0\/type: unknown preprocessing step type 'bert'; expected one of tfidf, keras_tokenizer$/);
  await rejects(loadTextPipeline(yaml('postprocessing:\n  - {type: softmax, artifact: labels.json}\n'), files), /^model\.yaml \/postprocessing\/0\/type: unknown postprocessing step type 'softmax'; expected one of label_decoder$/);
  await rejects(loadTextPipeline(pre('{type: tfidf, artifact: tfidf.json, maxlen: 5}'), files), /\/preprocessing\/0\/maxlen: 'maxlen' applies to keras_tokenizer steps, not tfidf/);
  await rejects(loadTextPipeline(pre('{type: keras_tokenizer, artifact: tokenizer.json, maxlen: 5, padding: left}'), files), /\/preprocessing\/0\/padding: expected 'pre' or 'post', got 'left'/);
  // Shapes and datatypes against the model.
  await rejects(loadTextPipeline(pre('{type: tfidf, artifact: tfidf.json}'), files, sig([{ name: 'input', datatype: 'FP32', shape: [-1, 310] }])), /^tfidf\.json: the vocabulary has 3 terms but input 'input' takes 310 columns$/);
  await rejects(loadTextPipeline(pre('{type: tfidf, artifact: tfidf.json}'), files, sig([{ name: 'input', datatype: 'BYTES', shape: [-1, 1] }])), /^tfidf\.json: makes TF-IDF vectors, but input 'input' is BYTES \(expected FP32 or FP64\)$/);
  await rejects(loadTextPipeline(pre('{type: tfidf, artifact: tfidf.json}'), files, sig([{ name: 'input', datatype: 'FP32', shape: [-1, 3, 1] }])), /^tfidf\.json: feeds input 'input' of shape \[-1, 3, 1\]/);
  await rejects(loadTextPipeline(pre('{type: keras_tokenizer, artifact: tokenizer.json, maxlen: 20}'), files, seqInput('INT64', 4)), /\/preprocessing\/0\/maxlen: 20, but input 'input' takes sequences of 4/);
  await rejects(loadTextPipeline(pre('{type: keras_tokenizer, artifact: tokenizer.json}'), files, seqInput('INT64', -1)), /\/preprocessing\/0\/maxlen: required, since input 'input' has no fixed width/);
  await rejects(loadTextPipeline(pre('{type: keras_tokenizer, artifact: tokenizer.json, maxlen: 4}'), files, sig([{ name: 'input', datatype: 'BOOL', shape: [-1, 4] }])), /^tokenizer\.json: makes token index sequences, but input 'input' is BOOL/);
  await rejects(loadTextPipeline(pre('{type: tfidf, artifact: tfidf.json, input: text}'), files, floatInput), /\/preprocessing\/0\/input: the model has no input 'text' \(its inputs: input\)/);
  const twoInputs = sig([{ name: 'a', datatype: 'FP32', shape: [-1, 3] }, { name: 'b', datatype: 'FP32', shape: [-1, 3] }]);
  await rejects(loadTextPipeline(pre('{type: tfidf, artifact: tfidf.json}'), files, twoInputs), /\/preprocessing\/0: name the input this step feeds \(input: \.\.\.\); the model has inputs a, b/);
  await rejects(loadTextPipeline(pre('{type: tfidf, artifact: tfidf.json, input: a}'), files, twoInputs), /^model\.yaml \/preprocessing: no step feeds the model's input 'b'$/);
  await rejects(
    loadTextPipeline(yaml('preprocessing:\n  - {type: tfidf, artifact: tfidf.json, input: a}\n  - {type: tfidf, artifact: tfidf.json, input: a}\n'), files, twoInputs),
    /\/preprocessing\/1: input 'a' is already fed by tfidf\.json/,
  );
  // Features: one text feature only.
  await rejects(loadTextPipeline(pre('{type: tfidf, artifact: tfidf.json}', 'features: [{name: a}, {name: b}]\n'), files), /^model\.yaml \/features: a model with preprocessing takes one text feature/);
  await rejects(loadTextPipeline(pre('{type: tfidf, artifact: tfidf.json}', 'features: [{name: age, type: numeric}]\n'), files), /takes one text feature .* got 'age' \(numeric\)/);
  // Label decoder against the model and the manifest.
  const withLabels = (file: string, extra = '') => yaml(`${extra}preprocessing:\n  - {type: tfidf, artifact: tfidf-ok.json}\npostprocessing:\n  - {type: label_decoder, artifact: ${file}}\n`);
  await rejects(loadTextPipeline(withLabels('labels.json'), broken, floatInput), /^labels\.json: has 3 classes but output 'probabilities' has shape \[-1, 2\]$/);
  await rejects(loadTextPipeline(withLabels('labels-dup.json'), broken), /^labels-dup\.json: classes\[0\] and classes\[1\] are both "a"$/);
  await rejects(loadTextPipeline(withLabels('labels.json', 'classes: [greeting, bye]\n'), folder({ 'tfidf-ok.json': TFIDF, 'labels.json': LABELS }), floatInput), /^labels\.json: its 2 classes differ from model\.yaml's 2 classes/);
  await rejects(
    loadTextPipeline(yaml('postprocessing:\n  - {type: label_decoder, artifact: labels.json, output: scores}\n'), files, floatInput),
    /\/postprocessing\/0\/output: the model has no output 'scores' \(its outputs: probabilities\)/,
  );
  // Paths in a reader's error are not echoed (only the artifact's own name).
  await assert.rejects(loadTextPipeline(pre('{type: tfidf, artifact: gone.json}'), broken), (err: Error) => !err.message.includes('/srv/'));
});

test('the manifest type of a pipeline-less model is unchanged by describeTextModel', () => {
  const m: Manifest = { classes: ['x', 'y'] };
  const s = sig([{ name: 'input', datatype: 'FP32', shape: [-1, 2] }]);
  assert.deepEqual(describeTextModel(s, undefined, m, undefined).classes, ['x', 'y']);
});
