import { ArtifactError, Fields, isObject, shown } from './artifact-fields.js';
import { defaultPatternTokens } from './word-chars.js';

/** scikit-learn's default `token_pattern`, the only one Plinth reproduces. */
export const SKLEARN_TOKEN_PATTERN = '(?u)\\b\\w\\w+\\b';

export type TfidfNorm = 'l1' | 'l2' | null;

export interface TfidfOptions {
  lowercase: boolean;
  /** Word n-gram lengths, inclusive. */
  ngramRange: [number, number];
  norm: TfidfNorm;
  useIdf: boolean;
  sublinearTf: boolean;
  binary: boolean;
  /** Tokens dropped before n-grams are built (sklearn's get_stop_words()), or none. */
  stopWords: ReadonlySet<string> | null;
}

/** Keys the artifact may hold; docs/models.md shows the export snippet that writes them. */
const ARTIFACT_KEYS = [
  'vocabulary', 'idf', 'lowercase', 'ngram_range', 'norm', 'use_idf', 'smooth_idf', 'sublinear_tf', 'binary',
  'analyzer', 'token_pattern', 'strip_accents', 'stop_words',
  // Fit-time settings, informational: the vocabulary and idf already reflect them.
  'min_df', 'max_df', 'max_features', 'dtype', 'type',
] as const;

/**
 * scikit-learn's `TfidfVectorizer.transform` for a fitted vocabulary and idf vector:
 * lowercase (str.lower), the default token pattern, stop words, word n-grams joined by one space,
 * counts of the n-grams in the vocabulary, binary, sublinear tf (1 + ln tf), idf, then l1 / l2
 * row normalisation (rows of zeros stay zeros). Computed in float64 as sklearn does.
 */
/** A node of the n-gram trie: the column of the n-gram ending here (-1: none), and its continuations by word id. */
interface GramNode {
  column: number;
  next: Map<number, GramNode> | null;
}

export class TfidfVectorizer {
  /** Number of columns: the vocabulary's size. */
  readonly size: number;
  private readonly scratch: Float64Array;
  private readonly touched: number[] = [];
  /** Every word of every vocabulary term -> a small integer id; words outside it can match no term. */
  private readonly wordIds = new Map<string, number>();
  /** The trie's roots by word id: n-grams are matched word id by word id, without joining strings. */
  private readonly roots: GramNode[] = [];
  private readonly ids: number[] = [];

  constructor(
    vocabulary: ReadonlyMap<string, number>,
    private readonly idf: Float64Array | null,
    readonly options: TfidfOptions,
  ) {
    this.size = vocabulary.size;
    this.scratch = new Float64Array(this.size);
    for (const [term, column] of vocabulary) {
      // sklearn joins an n-gram's tokens with one space, and tokens hold no spaces.
      let node: GramNode | undefined;
      for (const word of term.split(' ')) {
        let id = this.wordIds.get(word);
        if (id === undefined) {
          id = this.wordIds.size;
          this.wordIds.set(word, id);
          this.roots.push({ column: -1, next: null });
        }
        if (!node) {
          node = this.roots[id]!;
        } else {
          node.next ??= new Map();
          let child = node.next.get(id);
          if (!child) node.next.set(id, (child = { column: -1, next: null }));
          node = child;
        }
      }
      node!.column = column;
    }
  }

  /** Validates an exported artifact (see docs/models.md); errors name `artifact`. */
  static fromArtifact(doc: unknown, artifact: string): TfidfVectorizer {
    if (!isObject(doc)) throw new ArtifactError(artifact, `expected a JSON object with vocabulary and idf, got ${shown(doc)}`);
    const f: Fields = new Fields(artifact, doc);
    f.only(ARTIFACT_KEYS, ` (expected ${ARTIFACT_KEYS.slice(0, 13).join(', ')})`);

    const analyzer = f.string('analyzer', 'word');
    if (analyzer !== 'word') f.fail(`analyzer '${analyzer}' is not supported: Plinth reproduces analyzer='word' only`);
    const pattern = f.optionalString('token_pattern') ?? SKLEARN_TOKEN_PATTERN;
    if (pattern !== SKLEARN_TOKEN_PATTERN) {
      f.fail(`token_pattern ${JSON.stringify(pattern)} is not supported: Plinth reproduces sklearn's default ${JSON.stringify(SKLEARN_TOKEN_PATTERN)} only`);
    }
    const accents = f.optionalString('strip_accents');
    if (accents !== null) f.fail(`strip_accents '${accents}' is not supported (only None)`);

    const ngramRange = readNgramRange(f);
    const norm = doc.norm === undefined ? 'l2' : doc.norm;
    if (norm !== 'l1' && norm !== 'l2' && norm !== null) f.fail(`norm must be "l1", "l2" or null, got ${shown(norm)}`);
    const useIdf = f.boolean('use_idf', true);

    const vocabulary = readVocabulary(f);
    let idf: Float64Array | null = null;
    if (useIdf) {
      const raw = doc.idf;
      if (!Array.isArray(raw)) f.fail(`idf must be an array of ${vocabulary.size} numbers (sklearn's idf_), got ${shown(raw)}`);
      if (raw.length !== vocabulary.size) {
        f.fail(`idf has ${raw.length} values but the vocabulary ${vocabulary.size} words`);
      }
      idf = new Float64Array(raw.length);
      raw.forEach((v, i) => {
        if (typeof v !== 'number' || !Number.isFinite(v)) f.fail(`idf[${i}] must be a finite number, got ${shown(v)}`);
        idf![i] = v;
      });
    } else if (doc.idf !== undefined && doc.idf !== null) {
      f.fail('idf is given but use_idf is false: export idf as null, or set use_idf to true');
    }

    let stopWords: Set<string> | null = null;
    if (doc.stop_words !== undefined && doc.stop_words !== null) {
      if (!Array.isArray(doc.stop_words)) {
        f.fail(`stop_words must be a list of words (sorted(vectorizer.get_stop_words())) or null, got ${shown(doc.stop_words)}`);
      }
      stopWords = new Set();
      for (const w of doc.stop_words as unknown[]) {
        if (typeof w !== 'string') f.fail(`stop_words must hold strings, got ${shown(w)}`);
        stopWords.add(w);
      }
    }

    return new TfidfVectorizer(vocabulary, idf, {
      lowercase: f.boolean('lowercase', true),
      ngramRange,
      norm,
      useIdf,
      sublinearTf: f.boolean('sublinear_tf', false),
      binary: f.boolean('binary', false),
      stopWords,
    });
  }

  /** sklearn's `build_analyzer()(text)`: the n-gram features of a text, in sklearn's order. */
  analyze(text: string): string[] {
    const tokens = this.tokens(text);
    const [min, max] = this.options.ngramRange;
    const out: string[] = [];
    for (let n = min; n <= Math.min(max, tokens.length); n++) {
      for (let i = 0; i + n <= tokens.length; i++) out.push(tokens.slice(i, i + n).join(' '));
    }
    return out;
  }

  private tokens(text: string): string[] {
    const tokens = defaultPatternTokens(this.options.lowercase ? text.toLowerCase() : text);
    const stop = this.options.stopWords;
    return stop ? tokens.filter((t) => !stop.has(t)) : tokens;
  }

  /** The TF-IDF row of one text, written into `out` at `offset` (size values; the rest of the row is zeroed). */
  transformInto(text: string, out: Float32Array | Float64Array, offset = 0): void {
    const { scratch, touched, idf, roots, wordIds, ids } = this;
    const { ngramRange: [min, max], norm, sublinearTf, binary } = this.options;
    const tokens = this.tokens(text);
    const n = tokens.length;
    for (let i = 0; i < n; i++) ids[i] = wordIds.get(tokens[i]!) ?? -1;
    for (let i = 0; i < n; i++) {
      // The n-grams starting at token i, walked down the trie (same counts as sklearn's order).
      const first = ids[i]!;
      if (first < 0) continue;
      let node = roots[first]!;
      for (let len = 1; ; len++) {
        const j = node.column;
        if (len >= min && j >= 0) {
          if (scratch[j] === 0) touched.push(j);
          scratch[j]! += 1;
        }
        if (len === max || i + len >= n || node.next === null) break;
        const id = ids[i + len]!;
        const child = id < 0 ? undefined : node.next.get(id);
        if (!child) break;
        node = child;
      }
    }

    let total = 0;
    for (const j of touched) {
      let v = scratch[j]!;
      if (binary) v = 1;
      if (sublinearTf) v = Math.log(v) + 1;
      if (idf) v *= idf[j]!;
      scratch[j] = v;
      total += norm === 'l2' ? v * v : Math.abs(v);
    }
    const divisor = norm === null || total === 0 ? 1 : norm === 'l2' ? Math.sqrt(total) : total;
    out.fill(0, offset, offset + this.size);
    for (const j of touched) {
      out[offset + j] = scratch[j]! / divisor;
      scratch[j] = 0;
    }
    touched.length = 0;
  }

  /** The TF-IDF row of one text, in vocabulary index order, float64. */
  transform(text: string): Float64Array {
    const row = new Float64Array(this.size);
    this.transformInto(text, row);
    return row;
  }
}

function readNgramRange(f: Fields): [number, number] {
  const raw = f.doc.ngram_range;
  if (raw === undefined) return [1, 1];
  const ok = Array.isArray(raw) && raw.length === 2 && raw.every((n) => Number.isInteger(n) && (n as number) >= 1 && (n as number) <= 16);
  if (!ok || (raw[0] as number) > (raw[1] as number)) {
    f.fail(`ngram_range must be [min_n, max_n] with 1 <= min_n <= max_n <= 16, got ${JSON.stringify(raw)}`);
  }
  return [raw[0] as number, raw[1] as number];
}

function readVocabulary(f: Fields): Map<string, number> {
  const raw = f.doc.vocabulary;
  if (!isObject(raw)) f.fail(`vocabulary must be an object mapping each term to its column (sklearn's vocabulary_), got ${shown(raw)}`);
  const entries = Object.entries(raw);
  if (entries.length === 0) f.fail('vocabulary is empty');
  const size = entries.length;
  const owner = new Array<string | undefined>(size);
  const vocabulary = new Map<string, number>();
  for (const [term, index] of entries) {
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= size) {
      f.fail(`vocabulary term ${JSON.stringify(term)} has index ${typeof index === 'number' ? index : shown(index)}; expected an integer in 0..${size - 1} (one column per term)`);
    }
    if (owner[index] !== undefined) {
      f.fail(`vocabulary terms ${JSON.stringify(owner[index])} and ${JSON.stringify(term)} share index ${index}`);
    }
    owner[index] = term;
    vocabulary.set(term, index);
  }
  return vocabulary;
}
