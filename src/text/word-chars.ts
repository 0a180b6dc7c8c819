/**
 * Python's `\w` on str patterns, and scikit-learn's default token pattern `(?u)\b\w\w+\b`.
 *
 * Python's `re` calls a code point a word character when str.isalnum() is true for it or it
 * is `_`: the letters (Lu, Ll, Lt, Lm, Lo) and the code points with a numeric value (Nd, Nl, No).
 * Combining marks (Mn, Mc) are not word characters, so Devanagari or Thai words split at their
 * vowel signs in sklearn exactly as they do here. `[\p{L}\p{N}_]` is the same set;
 * test/text/word-chars.test.ts checks it against every code point Python assigns.
 */

const WORD = /[\p{L}\p{N}_]/u;

let bmp: Uint8Array | undefined;

/** 1 per word character of the Basic Multilingual Plane, built on first use (~65k regex tests once). */
function bmpTable(): Uint8Array {
  if (bmp) return bmp;
  const table = new Uint8Array(0x10000);
  for (let cp = 0; cp < 0x10000; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue; // lone surrogates: not characters
    if (WORD.test(String.fromCharCode(cp))) table[cp] = 1;
  }
  return (bmp = table);
}

/** Whether Python's `\w` matches this code point. */
export function isWordCodePoint(cp: number): boolean {
  if (cp < 0x10000) return bmpTable()[cp] === 1;
  return WORD.test(String.fromCodePoint(cp));
}

/**
 * The tokens `re.findall(r"(?u)\b\w\w+\b", text)` returns: every maximal run of two or more
 * word characters (counted in code points, as Python counts them), in order. Appends to `out`.
 */
export function defaultPatternTokens(text: string, out: string[] = []): string[] {
  const table = bmpTable();
  const n = text.length;
  let start = -1;
  let count = 0;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    let word: boolean;
    let width = 1;
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        width = 2;
        word = WORD.test(text.slice(i, i + 2));
      } else {
        word = false;
      }
    } else {
      word = table[c] === 1;
    }
    if (word) {
      if (start < 0) {
        start = i;
        count = 0;
      }
      count++;
    } else if (start >= 0) {
      if (count >= 2) out.push(text.slice(start, i));
      start = -1;
    }
    i += width;
  }
  if (start >= 0 && count >= 2) out.push(text.slice(start));
  return out;
}
