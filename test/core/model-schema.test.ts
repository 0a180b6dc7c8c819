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
  assert.throws(() => recordsToTensors(s, [{ a: 1, b: 'x', c: 2 }]), /feature 'b' expected a finite number, got string "x"/);
  assert.throws(() => recordsToTensors(s, [[1, 2, 3]]), /record 0: expected an object/);
  assert.throws(() => recordsToTensors(s, []), /at least one record/);
});

test('records mapping: Infinity is refused, CSV text parses only for numeric features, rows are labelled', () => {
  const s = describeModel(matrix, [0, 1], parseManifest('features:\n  - {name: a}\n  - {name: b}\n  - {name: c}\n'));
  assert.throws(() => recordsToTensors(s, [{ a: 1, b: Infinity, c: 2 }]), /feature 'b' \(input 'input', FP32\) expected a finite number within FP32's range ±3.4028234663852886e\+38, got number Infinity/);
  assert.deepEqual(tensorToElements(recordsToTensors(s, [{ a: '1.5', b: ' 2', c: '-3e0' }], { textual: true })[0]!), [1.5, 2, -3]);
  assert.throws(() => recordsToTensors(s, [{ a: '1.5', b: '2', c: '3' }]), /record 0: feature 'a' expected a finite number/);
  assert.throws(() => recordsToTensors(s, [{ a: 'abc', b: '2', c: '3' }], { textual: true }), /got string "abc"/);
  assert.throws(() => recordsToTensors(s, [{ a: 1, b: 2 }], { rowLabel: (r) => `input_data[0].values[${r}]` }), /input_data\[0\].values\[0\]: missing feature 'c'/);
  const text = describeModel({ inputs: [{ name: 'zip', datatype: 'BYTES', shape: [-1, 1] }, { name: 'n', datatype: 'FP32', shape: [-1, 1] }], outputs: matrix.outputs }, [0, 1], {});
  assert.deepEqual(recordsToTensors(text, [{ zip: '02134', n: '1' }], { textual: true }).map((t) => tensorToElements(t)), [['02134'], [1]]);
});
