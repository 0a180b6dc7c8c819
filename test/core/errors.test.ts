import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadFailureReason, printable } from '../../src/core/errors.js';

test('loadFailureReason keeps the first line and hides every path', () => {
  const err = new Error('Load model from /tmp/plinth-x/intake-1/model.onnx failed: protobuf parsing failed.\n    at stack /work/main/src/a.ts:1');
  assert.equal(loadFailureReason(err), 'Load model from <path> failed: protobuf parsing failed.');
  assert.equal(loadFailureReason(new Error('see C:\\models\\iris\\model.onnx now')), 'see <path> now');
  assert.equal(loadFailureReason(new Error('at file:///work/main/dist/x.js:3')), 'at <path>');
  assert.equal(loadFailureReason('plain string'), 'plain string');
  assert.equal(loadFailureReason(new Error('')), 'the model could not be loaded');
  assert.equal(loadFailureReason(new Error('x'.repeat(500)), 300).length, 303); // clipped, with '...'
});

test('printable clips and escapes control characters', () => {
  assert.equal(printable('a\u0000b\nc'), 'a\\u0000b\\u000ac');
  assert.equal(printable('abcdef', 3), 'abc...');
});
