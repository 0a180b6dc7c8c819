import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { classLabelsOfModel } from '../../src/runtime/onnx/onnx-labels.js';
import { classLabelsOf, readOnnxGraph } from '../../src/runtime/onnx/onnx-graph.reader.js';
import { EXAMPLES, FIXTURES } from '../helpers/server.js';

function onnxFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? onnxFiles(path) : name.endsWith('.onnx') ? [path] : [];
  });
}

test('the worker reads the same class labels from the wire format as the graph reader does, for every model at hand', () => {
  const files = [...onnxFiles(EXAMPLES), ...onnxFiles(FIXTURES)];
  assert.ok(files.length >= 5);
  let classifiers = 0;
  for (const file of files) {
    const bytes = readFileSync(file);
    let expected: unknown;
    try {
      expected = classLabelsOf(readOnnxGraph(bytes));
    } catch {
      assert.throws(() => classLabelsOfModel(bytes), file);
      continue;
    }
    assert.deepEqual(classLabelsOfModel(bytes), expected, file);
    if (expected) classifiers++;
  }
  assert.ok(classifiers >= 2, 'some of them are classifiers with labels');
});
