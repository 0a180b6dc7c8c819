import { ArtifactError, Fields, isObject, shown, type JsonObject } from './artifact-fields.js';

/** Keras' default `Tokenizer(filters=...)`: punctuation, tab and newline (not `'`, not `\r`). */
export const KERAS_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n';

export interface SequenceTokenizerOptions {
  /** word -> index (1-based; 0 is padding), as Keras' `word_index`. */
  wordIndex: ReadonlyMap<string, number>;
  /** Keep indices below this (Keras' `num_words`); null or 0 keeps all. */
  numWords: number | null;
  oovToken: string | null;
  filters: string;
  lower: boolean;
  split: string;
  charLevel: boolean;
}

export type Padding = 'pre' | 'post';

export interface PadOptions {
  maxlen: number;
  padding: Padding;
  truncating: Padding;
  /** The padding value (Keras' default 0). */
  value: number;
}

const PLAIN_KEYS = ['word_index', 'num_words', 'oov_token', 'filters', 'lower', 'split', 'char_level', 'analyzer', 'type'] as const;
/** What Keras' `Tokenizer.get_config()` holds besides the above: counts, informational here. */
const KERAS_EXTRA_KEYS = ['document_count', 'word_counts', 'word_docs', 'index_docs', 'index_word'] as const;

/**
 * Keras' `Tokenizer.texts_to_sequences`: lowercase (str.lower), every filter character replaced
 * by `split`, split on `split`, empty words dropped (or, with char_level, one token per
 * character); each word's index from `word_index`, indices >= `num_words` replaced by the OOV
 * token's index (or dropped when there is none), unknown words likewise.
 */
export class SequenceTokenizer {
  private readonly filterSet: ReadonlySet<number>;
  /** 1 for a BMP code point that ends a word (a filter character, or the split character). */
  private readonly breaks = new Uint8Array(0x10000);
  private readonly splitCode: number;
  /** Whether a filter or the split character lies outside the BMP (a surrogate pair in strings). */
  private readonly astral: boolean;
  private readonly oovIndex: number | undefined;

  constructor(readonly options: SequenceTokenizerOptions) {
    this.filterSet = new Set(Array.from(options.filters, (c) => c.codePointAt(0)!));
    // A one-code-point split: splitting on it or on any filter character is the same thing.
    this.splitCode = [...options.split].length === 1 ? options.split.codePointAt(0)! : -1;
    for (const cp of [...this.filterSet, this.splitCode]) if (cp >= 0 && cp < 0x10000) this.breaks[cp] = 1;
    this.astral = this.splitCode > 0xffff || [...this.filterSet].some((cp) => cp > 0xffff);
    this.oovIndex = options.oovToken === null ? undefined : options.wordIndex.get(options.oovToken);
  }

  /**
   * Validates a tokenizer artifact: Keras' own `tokenizer.to_json()` output (class_name +
   * config, with word_index as a JSON string), or a plain object with the same keys.
   */
  static fromArtifact(doc: unknown, artifact: string): SequenceTokenizer {
    if (!isObject(doc)) throw new ArtifactError(artifact, `expected a JSON object (tokenizer.to_json() or {word_index, ...}), got ${shown(doc)}`);
    let config: JsonObject = doc;
    if (doc.class_name !== undefined || doc.config !== undefined) {
      if (doc.class_name !== 'Tokenizer') throw new ArtifactError(artifact, `class_name must be "Tokenizer", got ${shown(doc.class_name)}`);
      if (!isObject(doc.config)) throw new ArtifactError(artifact, `config must be an object, got ${shown(doc.config)}`);
      config = doc.config;
    }
    const f: Fields = new Fields(artifact, config);
    f.only([...PLAIN_KEYS, ...KERAS_EXTRA_KEYS], ` (expected ${PLAIN_KEYS.slice(0, 7).join(', ')})`);

    if (config.analyzer !== undefined && config.analyzer !== null) {
      f.fail('analyzer is not supported: a tokenizer with a custom analyzer function cannot be reproduced (export one with analyzer=None)');
    }
    const raw = f.object('word_index', "an object mapping each word to its index (Keras' word_index)");
    const wordIndex = new Map<string, number>();
    for (const [word, index] of Object.entries(raw)) {
      if (typeof index !== 'number' || !Number.isInteger(index) || index < 1) {
        f.fail(`word_index[${JSON.stringify(word)}] must be an integer >= 1 (0 is the padding index), got ${shown(index)}`);
      }
      wordIndex.set(word, index);
    }
    if (wordIndex.size === 0) f.fail('word_index is empty');

    const numWords = config.num_words ?? null;
    if (numWords !== null && (typeof numWords !== 'number' || !Number.isInteger(numWords) || numWords < 0)) {
      f.fail(`num_words must be a positive integer or null, got ${shown(numWords)}`);
    }
    const oovToken = f.optionalString('oov_token');
    if (oovToken !== null && !wordIndex.has(oovToken)) {
      f.fail(`oov_token ${JSON.stringify(oovToken)} is not in word_index (Keras gives it index 1 when fitting)`);
    }
    const split = f.string('split', ' ');
    if (split === '') f.fail('split must not be empty');
    return new SequenceTokenizer({
      wordIndex,
      numWords: numWords === 0 ? null : (numWords as number | null),
      oovToken,
      filters: f.string('filters', KERAS_FILTERS),
      lower: f.boolean('lower', true),
      split,
      charLevel: f.boolean('char_level', false),
    });
  }

  /** The largest index a sequence can hold (for checking against an embedding table). */
  get maxIndex(): number {
    let max = 0;
    for (const i of this.options.wordIndex.values()) if (i > max) max = i;
    const { numWords } = this.options;
    return numWords ? Math.min(max, numWords - 1) : max;
  }

  /** Keras' `text_to_word_sequence` with this tokenizer's settings (or its characters, char_level). */
  words(text: string): string[] {
    const { lower, split, charLevel } = this.options;
    const t = lower ? text.toLowerCase() : text;
    if (charLevel) return Array.from(t);
    const out: string[] = [];
    if (this.splitCode >= 0) {
      const { breaks, filterSet, splitCode, astral } = this;
      let start = 0;
      const n = t.length;
      for (let i = 0; i < n; i++) {
        const c = t.charCodeAt(i);
        if (breaks[c] === 1) {
          if (i > start) out.push(t.slice(start, i));
          start = i + 1;
        } else if (astral && c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
          // A filter or split character outside the BMP (a surrogate pair in the string).
          const cp = t.codePointAt(i)!;
          if (cp > 0xffff && (cp === splitCode || filterSet.has(cp))) {
            if (i > start) out.push(t.slice(start, i));
            start = i + 2;
          }
          if (cp > 0xffff) i++;
        }
      }
      if (n > start) out.push(t.slice(start));
      return out;
    }
    // A multi-character split, as Python does it: translate the filters to it, then str.split.
    let translated = '';
    for (const c of t) translated += this.filterSet.has(c.codePointAt(0)!) ? split : c;
    for (const w of translated.split(split)) if (w) out.push(w);
    return out;
  }

  /** Keras' `texts_to_sequences([text])[0]`. */
  textToSequence(text: string): number[] {
    const { wordIndex, numWords, oovToken } = this.options;
    const oov = this.oovIndex;
    const seq: number[] = [];
    for (const w of this.words(text)) {
      const i = wordIndex.get(w);
      if (i !== undefined) {
        if (numWords && i >= numWords) {
          if (oov !== undefined) seq.push(oov);
        } else {
          seq.push(i);
        }
      } else if (oovToken !== null) {
        seq.push(oov!);
      }
    }
    return seq;
  }

  textsToSequences(texts: readonly string[]): number[][] {
    return texts.map((t) => this.textToSequence(t));
  }
}

/**
 * Keras' `pad_sequences` for one sequence, written into `out` at `offset` (maxlen values):
 * `truncating` 'pre' keeps the last maxlen indices, 'post' the first; `padding` 'pre' puts the
 * padding value before them, 'post' after.
 */
export function padSequenceInto(seq: readonly number[], options: PadOptions, out: { [i: number]: number } & { length: number }, offset = 0): void {
  const { maxlen, padding, truncating, value } = options;
  const kept = Math.min(seq.length, maxlen);
  const from = truncating === 'pre' ? seq.length - kept : 0;
  const at = padding === 'pre' ? maxlen - kept : 0;
  for (let i = 0; i < maxlen; i++) out[offset + i] = value;
  for (let i = 0; i < kept; i++) out[offset + at + i] = seq[from + i]!;
}

/** Keras' `pad_sequences(sequences, maxlen, padding, truncating, value)` as rows of numbers. */
export function padSequences(sequences: readonly (readonly number[])[], options: PadOptions): number[][] {
  return sequences.map((seq) => {
    const row = new Array<number>(options.maxlen);
    padSequenceInto(seq, options, row);
    return row;
  });
}
