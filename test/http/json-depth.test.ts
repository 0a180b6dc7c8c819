import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scanJson } from '../../src/http/json-scan.js';

const tooDeep = (json: string, maxDepth: number) => scanJson(Buffer.from(json), { maxDepth, maxRows: 1e9 })?.kind === 'depth';
const tooManyRows = (json: string, maxRows: number) => scanJson(Buffer.from(json), { maxDepth: 64, maxRows })?.kind === 'rows';

test('depth scan counts nesting outside strings only', () => {
  assert.equal(tooDeep('[[[1]]]', 3), false);
  assert.equal(tooDeep('[[[[1]]]]', 3), true);
  assert.equal(tooDeep('{"a":"[[[[[[[["}', 2), false);
  assert.equal(tooDeep('{"a":"\\"[[[[[[[["}', 2), false);
  assert.equal(tooDeep('[{"a":[{"b":1}]}]', 3), true);
});

test('many shallow brackets (more than the limit in all, none deeper) pass; the count alone never refuses', () => {
  assert.equal(tooDeep('[[1],[2],{"a":[3]},[4]]', 3), false);
  assert.equal(tooDeep('[[1],[2],{"a":[[3]]},[4]]', 3), true);
  assert.equal(tooDeep(JSON.stringify(Array.from({ length: 500 }, (_, i) => ({ x: [i] }))), 3), false);
});

test('row scan: an array holding more objects or arrays than the limit is refused, at any depth, outside strings only', () => {
  assert.equal(tooManyRows('[{},{},{}]', 3), false);
  assert.equal(tooManyRows('[{},{},{},{}]', 3), true);
  assert.equal(tooManyRows('{"dataframe_split":{"columns":[],"data":[[],[],[],[]]}}', 3), true);
  assert.equal(tooManyRows('{"input_data":[{"values":[[1],[2],[3],[4]]}]}', 3), true);
  // Flat numbers are not rows here (the tensor shape checks count them); nor are brackets inside strings.
  assert.equal(tooManyRows('[1,2,3,4,5,6]', 3), false);
  assert.equal(tooManyRows('["{","{","[","[","{"]', 3), false);
  // Counted per array: three arrays of three rows each pass.
  assert.equal(tooManyRows('[[{},{},{}],[{},{},{}],[{},{},{}]]', 3), false);
});
