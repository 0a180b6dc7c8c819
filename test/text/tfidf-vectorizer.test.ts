/**
 * Exactness against scikit-learn (issue 5): every TfidfVectorizer the fixture script fitted
 * (test/fixtures/build-text-fixtures.py, sklearn 1.2.1), exported as docs/models.md says, must
 * give sklearn's transform() to 1e-6 on every probe text.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TfidfVectorizer } from '../../src/text/tfidf-vectorizer.js';
import { textFixture } from './fixtures.js';

interface TfidfFixture {
  sklearn: string;
  probes: string[];
  tokens: string[][];
  cases: { name: string; artifact: Record<string, unknown>; expected: [number, number][][] }[];
}

const fixture = textFixture<TfidfFixture>('tfidf-cases.json');

test('the analyzer gives sklearn\'s tokens for every probe', () => {
  const v = TfidfVectorizer.fromArtifact(fixture.cases[0]!.artifact, 'tfidf.json');
  fixture.probes.forEach((text, i) => assert.deepEqual(v.analyze(text), fixture.tokens[i], `probe ${i}: ${JSON.stringify(text)}`));
});

test(`${fixture.cases.length} option combinations match sklearn ${fixture.sklearn} to 1e-6 on ${fixture.probes.length} probes`, () => {
  let compared = 0;
  for (const c of fixture.cases) {
    const v = TfidfVectorizer.fromArtifact(c.artifact, 'tfidf.json');
    assert.equal(v.size, Object.keys(c.artifact.vocabulary as object).length);
    fixture.probes.forEach((text, p) => {
      const row = v.transform(text);
      const expected = new Float64Array(v.size);
      for (const [j, x] of c.expected[p]!) expected[j] = x;
      for (let j = 0; j < v.size; j++) {
        const diff = Math.abs(row[j]! - expected[j]!);
        if (diff > 1e-6 || (expected[j] === 0) !== (row[j] === 0)) {
          assert.fail(`${c.name}: probe ${p} ${JSON.stringify(text)} column ${j}: ${row[j]} vs sklearn ${expected[j]}`);
        }
        compared++;
      }
    });
  }
  assert.ok(compared > 100_000);
});

test('transformInto writes float32 rows at an offset and zeroes the rest of the row', () => {
  const c = fixture.cases[0]!;
  const v = TfidfVectorizer.fromArtifact(c.artifact, 'tfidf.json');
  const out = new Float32Array(v.size * 2).fill(7);
  v.transformInto(fixture.probes[0]!, out, 0);
  v.transformInto(fixture.probes[1]!, out, v.size);
  for (const [row, p] of [[0, 0], [1, 1]] as const) {
    const expected = new Float64Array(v.size);
    for (const [j, x] of c.expected[p]!) expected[j] = x;
    for (let j = 0; j < v.size; j++) assert.ok(Math.abs(out[row * v.size + j]! - expected[j]!) < 1e-7);
  }
  // The scratch row is reset between texts: the same text twice gives the same row.
  assert.deepEqual(v.transform('hello hello there'), v.transform('hello hello there'));
});

const base = () => structuredClone(fixture.cases[0]!.artifact);
const refused = (change: (a: Record<string, unknown>) => void, message: RegExp) => {
  const artifact = base();
  change(artifact);
  assert.throws(() => TfidfVectorizer.fromArtifact(artifact, 'vocabulary.json'), (err: Error) => {
    assert.match(err.message, /^vocabulary\.json: /);
    assert.match(err.message, message);
    return true;
  });
};

test('bad artifacts are refused with a message naming the artifact and what was expected', () => {
  const size = Object.keys(base().vocabulary as object).length;
  refused((a) => (a.idf as number[]).push(1, 2), new RegExp(`idf has ${size + 2} values but the vocabulary ${size} words`));
  refused((a) => delete a.idf, /idf must be an array of \d+ numbers/);
  refused((a) => ((a.idf as unknown[])[3] = 'x'), /idf\[3\] must be a finite number/);
  refused((a) => delete a.vocabulary, /vocabulary must be an object/);
  refused((a) => (a.vocabulary = {}), /vocabulary is empty/);
  refused((a) => ((a.vocabulary as Record<string, number>).hello = size + 5), /vocabulary term "hello" has index \d+; expected an integer in 0\.\.\d+/);
  refused((a) => {
    const v = a.vocabulary as Record<string, number>;
    v.hello = v.there!;
  }, /share index/);
  refused((a) => (a.norm = 'max'), /norm must be "l1", "l2" or null/);
  refused((a) => (a.ngram_range = [2, 1]), /ngram_range must be \[min_n, max_n\]/);
  refused((a) => (a.token_pattern = '\\S+'), /token_pattern "\\\\S\+" is not supported/);
  refused((a) => (a.analyzer = 'char_wb'), /analyzer 'char_wb' is not supported/);
  refused((a) => (a.strip_accents = 'unicode'), /strip_accents 'unicode' is not supported/);
  refused((a) => (a.preprocessor = 'x'), /unknown key 'preprocessor'/);
  refused((a) => (a.lowercase = 'yes'), /lowercase must be true or false/);
  refused((a) => (a.use_idf = false), /idf is given but use_idf is false/);
  assert.throws(() => TfidfVectorizer.fromArtifact([1, 2], 'v.json'), (err: Error) => /^v\.json: expected a JSON object/.test(err.message));
});

test('defaults: a bare vocabulary + idf is lowercase, unigrams, l2', () => {
  const v = TfidfVectorizer.fromArtifact({ vocabulary: { hello: 0, world: 1 }, idf: [1, 2] }, 'tfidf.json');
  const row = v.transform('Hello WORLD world');
  // tf-idf (1, 4) normalised by sqrt(17)
  assert.ok(Math.abs(row[0]! - 1 / Math.sqrt(17)) < 1e-12);
  assert.ok(Math.abs(row[1]! - 4 / Math.sqrt(17)) < 1e-12);
  assert.deepEqual(Array.from(v.transform('nothing known')), [0, 0]);
});
