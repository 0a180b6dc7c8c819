/**
 * Keras Tokenizer.texts_to_sequences + pad_sequences. Keras is not installed here (nor packaged
 * by Debian), so the fixture's expected sequences come from a Python reimplementation that follows
 * Keras' source line by line (test/fixtures/build-text-fixtures.py, KerasTokenizer), not from
 * Keras itself; the hand-computed cases below pin the documented rules independently of it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KERAS_FILTERS, padSequences, SequenceTokenizer, type PadOptions } from '../../src/text/sequence-tokenizer.js';
import { textFixture } from './fixtures.js';

interface KerasFixture {
  probes: string[];
  cases: { name: string; artifact: unknown; pad: Omit<PadOptions, 'value'>; sequences: number[][]; padded: number[][] }[];
}

const fixture = textFixture<KerasFixture>('keras-cases.json');

for (const c of fixture.cases) {
  test(`Keras fixture (${c.name}): sequences and padded rows for ${fixture.probes.length} probes`, () => {
    const tok = SequenceTokenizer.fromArtifact(c.artifact, 'tokenizer.json');
    const sequences = tok.textsToSequences(fixture.probes);
    fixture.probes.forEach((text, i) => assert.deepEqual(sequences[i], c.sequences[i], `probe ${i}: ${JSON.stringify(text)}`));
    assert.deepEqual(padSequences(sequences, { ...c.pad, value: 0 }), c.padded);
  });
}

const tokenizer = (extra: Record<string, unknown> = {}) =>
  SequenceTokenizer.fromArtifact({ word_index: { '<oov>': 1, the: 2, cat: 3, sat: 4, on: 5, mat: 6, "don't": 7 }, ...extra }, 'tokenizer.json');

test('default filters, lowercase, split on spaces; unknown words dropped without an OOV token', () => {
  const tok = tokenizer();
  assert.equal(tok.options.filters, KERAS_FILTERS);
  assert.deepEqual(tok.words('The CAT, sat!\ton\nthe   mat.'), ['the', 'cat', 'sat', 'on', 'the', 'mat']);
  // ' is not a filter; \r is not one either.
  assert.deepEqual(tok.words("Don't\r stop"), ["don't\r", 'stop']);
  assert.deepEqual(tok.textToSequence('The dog sat on the mat'), [2, 4, 5, 2, 6]);
  assert.deepEqual(tok.textToSequence(''), []);
});

test('oov_token: unknown words get its index', () => {
  const tok = tokenizer({ oov_token: '<oov>' });
  assert.deepEqual(tok.textToSequence('the dog sat'), [2, 1, 4]);
});

test('num_words keeps indices below it; the rest become the OOV index, or are dropped', () => {
  assert.deepEqual(tokenizer({ num_words: 4 }).textToSequence('the cat sat on the mat'), [2, 3, 2]);
  assert.deepEqual(tokenizer({ num_words: 4, oov_token: '<oov>' }).textToSequence('the cat sat on the mat zebra'), [2, 3, 1, 1, 2, 1, 1]);
  // 0 and null both mean no limit, as Keras' `if self.num_words and ...`.
  assert.deepEqual(tokenizer({ num_words: 0 }).textToSequence('mat'), [6]);
  assert.deepEqual(tokenizer({ num_words: null }).textToSequence('mat'), [6]);
});

test('lower: false keeps case; custom filters and a multi-character split', () => {
  assert.deepEqual(tokenizer({ lower: false }).textToSequence('The cat'), [3]);
  assert.deepEqual(tokenizer({ filters: '' }).words('cat, sat'), ['cat,', 'sat']);
  assert.deepEqual(tokenizer({ split: '--' }).words('cat--sat, on-- --mat'), ['cat', 'sat', ' on', ' ', 'mat']);
  assert.deepEqual(tokenizer({ split: ',' }).words('cat sat,on'), ['cat sat', 'on']);
});

test('pad_sequences: pre/post padding and truncating, value', () => {
  const seq = [[1, 2, 3, 4, 5], [6, 7], []];
  const pad = (padding: 'pre' | 'post', truncating: 'pre' | 'post', maxlen = 3, value = 0) => padSequences(seq, { maxlen, padding, truncating, value });
  assert.deepEqual(pad('pre', 'pre'), [[3, 4, 5], [0, 6, 7], [0, 0, 0]]);
  assert.deepEqual(pad('post', 'post'), [[1, 2, 3], [6, 7, 0], [0, 0, 0]]);
  assert.deepEqual(pad('pre', 'post'), [[1, 2, 3], [0, 6, 7], [0, 0, 0]]);
  assert.deepEqual(pad('post', 'pre'), [[3, 4, 5], [6, 7, 0], [0, 0, 0]]);
  assert.deepEqual(pad('post', 'pre', 6, -1), [[1, 2, 3, 4, 5, -1], [6, 7, -1, -1, -1, -1], [-1, -1, -1, -1, -1, -1]]);
});

test("Keras' to_json() layout is read as is (word_index as a JSON string inside config)", () => {
  const json = { class_name: 'Tokenizer', config: { num_words: null, filters: KERAS_FILTERS, lower: true, split: ' ', char_level: false, oov_token: '<OOV>', document_count: 2, word_counts: '{"hi": 2}', word_index: '{"<OOV>": 1, "hi": 2}', index_word: '{"1": "<OOV>", "2": "hi"}', word_docs: '{}', index_docs: '{}' } };
  assert.deepEqual(SequenceTokenizer.fromArtifact(json, 't.json').textToSequence('Hi there'), [2, 1]);
});

test('bad tokenizer artifacts name the artifact and what was expected', () => {
  const bad = (doc: unknown, message: RegExp) =>
    assert.throws(() => SequenceTokenizer.fromArtifact(doc, 'tokenizer.json'), (err: Error) => /^tokenizer\.json: /.test(err.message) && message.test(err.message));
  bad({}, /word_index is missing/);
  bad({ word_index: 'not json' }, /word_index is a string that is not JSON/);
  bad({ word_index: {} }, /word_index is empty/);
  bad({ word_index: { a: 0 } }, /word_index\["a"\] must be an integer >= 1/);
  bad({ word_index: { a: 1 }, num_words: 'ten' }, /num_words must be a positive integer or null/);
  bad({ word_index: { a: 1 }, oov_token: '<OOV>' }, /oov_token "<OOV>" is not in word_index/);
  bad({ word_index: { a: 1 }, split: '' }, /split must not be empty/);
  bad({ word_index: { a: 1 }, analyzer: 'x' }, /analyzer is not supported/);
  bad({ word_index: { a: 1 }, stemmer: 'porter' }, /unknown key 'stemmer'/);
  bad({ class_name: 'TextVectorization', config: {} }, /class_name must be "Tokenizer"/);
  bad([1], /expected a JSON object/);
});

test('filters and split characters outside the BMP (emoji) split words', () => {
  const tok = tokenizer({ filters: '🙂!', split: ' ' });
  assert.deepEqual(tok.words('the🙂cat! 😀sat'), ['the', 'cat', '😀sat']);
  assert.deepEqual(tokenizer({ split: '🙂' }).words('the🙂cat sat🙂🙂mat'), ['the', 'cat sat', 'mat']);
});
