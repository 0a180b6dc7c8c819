import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseManifest } from '../../src/core/manifest.js';
import { describeModel, type Signature } from '../../src/core/model-schema.js';
import { recordsToTensors } from '../../src/core/records.mapper.js';
import { tensorToElements } from '../../src/core/tensor.js';

const matrix: Signature = {
  inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 3] }],
  outputs: [{ name: 'label', datatype: 'INT64', shape: [-1] }, { name: 'probabilities', datatype: 'FP32', shape: [-1, 2] }],
};

test('without a manifest: f0..fN features, graph class labels, binary task', () => {
  const s = describeModel(matrix, [0, 1], {});
  assert.deepEqual(s.features?.map((f) => f.name), ['f0', 'f1', 'f2']);
  assert.equal(s.task, 'binary_classification');
  assert.deepEqual(s.classes, ['0', '1']);
  assert.equal(s.labelOutput, 'label');
  assert.equal(s.probabilitiesOutput, 'probabilities');
  assert.equal(s.binding?.mode, 'packed');
});

test('one [N,1] input per column becomes one feature per input', () => {
  const sig: Signature = {
    inputs: [{ name: 'age', datatype: 'FP32', shape: [-1, 1] }, { name: 'city', datatype: 'BYTES', shape: [-1, 1] }],
    outputs: [{ name: 'variable', datatype: 'FP32', shape: [-1, 1] }],
  };
  const s = describeModel(sig, undefined, {});
  assert.deepEqual(s.features, [{ name: 'age', type: 'numeric' }, { name: 'city', type: 'categorical' }]);
  assert.equal(s.task, 'regression');
  assert.equal(s.valueOutput, 'variable');
  const tensors = recordsToTensors(s, [{ age: 30, city: 'Oslo' }, { age: 41, city: 'Lima' }]);
  assert.deepEqual(tensors.map((t) => [t.name, t.shape, tensorToElements(t)]), [
    ['age', [2, 1], [30, 41]],
    ['city', [2, 1], ['Oslo', 'Lima']],
  ]);
});

test('manifest features must match the input width', () => {
  const m = parseManifest('features:\n  - name: a\n  - name: b\n');
  assert.throws(() => describeModel(matrix, [0, 1], m), /lists 2 features but input 'input' has 3 columns/);
});

test('manifest classes rename graph labels; a missing output named by the manifest is an error', () => {
  const s = describeModel(matrix, [0, 1], parseManifest('classes: [no, yes]'));
  assert.deepEqual(s.classes, ['no', 'yes']);
  assert.throws(() => describeModel(matrix, [0, 1], parseManifest('outputs: {label: nope}')), /names output 'nope'/);
  assert.throws(() => describeModel(matrix, [0, 1], parseManifest('classes: [a, b, c]')), /3 classes but the graph's classifier has 2/);
});

test('parseManifest names the bad key', () => {
  assert.throws(() => parseManifest('task: clustering'), /model.yaml \/task/);
  assert.throws(() => parseManifest('features:\n  - name: a\n    kind: numeric\n'), /model.yaml \/features\/0/);
  assert.throws(() => parseManifest('metrics: {auc: 0.9}\nprimary_metric: accuracy'), /primary_metric: 'accuracy' is not one of the listed metrics/);
  assert.throws(() => parseManifest('a: [unclosed'), /not valid YAML/);
  assert.deepEqual(parseManifest(''), {});
});

test('records mapping: defaults fill gaps, unknown and missing features are named', () => {
  const s = describeModel(matrix, [0, 1], parseManifest('features:\n  - {name: a, default: 7}\n  - {name: b}\n  - {name: c}\n'));
  const [t] = recordsToTensors(s, [{ b: 1, c: 2 }]);
  assert.deepEqual(tensorToElements(t!), [7, 1, 2]);
  assert.throws(() => recordsToTensors(s, [{ a: 1, c: 2 }]), /record 0: missing feature 'b'/);
  assert.throws(() => recordsToTensors(s, [{ a: 1, b: 1, c: 2, d: 4 }]), /unknown feature 'd'/);
  assert.throws(() => recordsToTensors(s, [{ a: 1, b: 'x', c: 2 }]), /feature 'b' expected a number, got string "x"/);
  assert.throws(() => recordsToTensors(s, [[1, 2, 3]]), /record 0: expected an object/);
  assert.throws(() => recordsToTensors(s, []), /at least one record/);
});
