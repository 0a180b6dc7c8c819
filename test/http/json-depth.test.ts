import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jsonDepthExceeds } from '../../src/http/json-body.parser.js';

test('depth scan counts nesting outside strings only', () => {
  assert.equal(jsonDepthExceeds(Buffer.from('[[[1]]]'), 3), false);
  assert.equal(jsonDepthExceeds(Buffer.from('[[[[1]]]]'), 3), true);
  assert.equal(jsonDepthExceeds(Buffer.from('{"a":"[[[[[[[["}'), 2), false);
  assert.equal(jsonDepthExceeds(Buffer.from('{"a":"\\"[[[[[[[["}'), 2), false);
  assert.equal(jsonDepthExceeds(Buffer.from('[{"a":[{"b":1}]}]'), 3), true);
});

test('many shallow brackets (more than the limit in all, none deeper) pass; the count alone never refuses', () => {
  assert.equal(jsonDepthExceeds(Buffer.from('[[1],[2],{"a":[3]},[4]]'), 3), false);
  assert.equal(jsonDepthExceeds(Buffer.from('[[1],[2],{"a":[[3]]},[4]]'), 3), true);
  assert.equal(jsonDepthExceeds(Buffer.from(JSON.stringify(Array.from({ length: 500 }, (_, i) => ({ x: [i] })))), 3), false);
});
