import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultPatternTokens, isWordCodePoint } from '../../src/text/word-chars.js';
import { textFixture } from './fixtures.js';

interface PythonUnicode {
  python: string;
  unicode: string;
  assigned: [number, number][];
  word: [number, number][];
  lower: Record<string, string>;
}

const py = textFixture<PythonUnicode>('python-unicode.json');

function inRanges(ranges: [number, number][]): (cp: number) => boolean {
  const set = new Uint8Array(0x110000);
  for (const [a, b] of ranges) set.fill(1, a, b + 1);
  return (cp) => set[cp] === 1;
}

// Node's ICU may know a newer Unicode than the Python that wrote the fixture: compare on the
// code points that Python's database assigns.
test(`isWordCodePoint equals Python ${py.python}'s re \\w on every code point Unicode ${py.unicode} assigns`, () => {
  const assigned = inRanges(py.assigned);
  const word = inRanges(py.word);
  const differ: string[] = [];
  for (let cp = 0; cp < 0x110000; cp++) {
    if (!assigned(cp)) continue;
    if (isWordCodePoint(cp) !== word(cp)) differ.push(`U+${cp.toString(16).toUpperCase().padStart(4, '0')}`);
  }
  assert.deepEqual(differ.slice(0, 20), [], `${differ.length} code points differ`);
});

test(`String.prototype.toLowerCase equals Python's str.lower on every assigned code point`, () => {
  const assigned = inRanges(py.assigned);
  const differ: string[] = [];
  for (let cp = 0; cp < 0x110000; cp++) {
    if (!assigned(cp) || (cp >= 0xd800 && cp <= 0xdfff)) continue;
    const c = String.fromCodePoint(cp);
    const expected = py.lower[String(cp)] ?? c;
    if (c.toLowerCase() !== expected) differ.push(`U+${cp.toString(16).toUpperCase()}`);
  }
  assert.deepEqual(differ.slice(0, 20), [], `${differ.length} code points differ`);
});

test('the default pattern keeps runs of two or more word characters, counted in code points', () => {
  assert.deepEqual(defaultPatternTokens("a bc d_e 12 x, don't __ 𝐇𝐞 𠀀 😀😀 ab😀cd"), ['bc', 'd_e', '12', 'don', '__', '𝐇𝐞', 'ab', 'cd']);
  // A single astral letter is one code point: no token, as in Python.
  assert.deepEqual(defaultPatternTokens('𠀀 x𠀀'), ['x𠀀']);
  // Combining marks are not word characters: NFD é splits, as sklearn splits it.
  assert.deepEqual(defaultPatternTokens('cafe\u0301s nai\u0308ve'), ['cafe', 'nai', 've']);
  assert.deepEqual(defaultPatternTokens(''), []);
  assert.deepEqual(defaultPatternTokens('\ud800ab\udc00'), ['ab']);
});
