/**
 * Text preprocessing micro-bench (issue 5: "preprocessing of a 1,000-word text in under 1 ms"):
 * one text through the TF-IDF step and through the Keras tokenizer step, as serving calls them
 * (`TextPipeline.toTensors`, tensor allocation included), against references measured in the
 * same run on the same text: `text.split(' ')` and `text.toLowerCase()`. For context it also
 * times ONNX Runtime running the whole-graph intents-tfidf model (its own StringNormalizer,
 * Tokenizer and TfIdfVectorizer) on the same text. In-process, no HTTP.
 * Run with `npm run bench:text`; BENCH_TEXT_ITERATIONS sets the timed calls per case (default 20000).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { parseManifest, type Manifest } from '../src/core/manifest.js';
import { loadTextPipeline, type TextPipeline } from '../src/text/text-pipeline.js';
import { machine } from './report.js';

const ROOT = resolve(import.meta.dirname, '..');
const ITERATIONS = Number(process.env.BENCH_TEXT_ITERATIONS ?? 20_000);
if (!Number.isInteger(ITERATIONS) || ITERATIONS < 1000) throw new Error(`BENCH_TEXT_ITERATIONS must be an integer >= 1000, got '${process.env.BENCH_TEXT_ITERATIONS}'`);
const BATCH = 50;
const TARGET_MS = 1;

/** A deterministic 1,000-word message: corpus words, unseen words, punctuation, some capitals, a few emoji. */
function thousandWords(vocabulary: string[]): string {
  let seed = 12345;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const words: string[] = [];
  for (let i = 0; i < 1000; i++) {
    const r = next();
    let w = r < 0.8 ? vocabulary[Math.floor(next() * vocabulary.length)]! : `unseen${Math.floor(next() * 500)}`;
    if (next() < 0.1) w = w[0]!.toUpperCase() + w.slice(1);
    if (next() < 0.08) w += ['.', ',', '!', '?'][Math.floor(next() * 4)]!;
    if (next() < 0.01) w += ' 🙂';
    words.push(w);
  }
  return words.join(' ');
}

interface Timing {
  /** µs per call: median and p99 over batches of BATCH calls. */
  p50: number;
  p99: number;
}

/** Times fn over ITERATIONS calls in batches; the result of each call is kept so nothing is optimised away. */
function time(fn: () => unknown): Timing {
  const sink: unknown[] = [];
  for (let i = 0; i < Math.min(2000, ITERATIONS / 5); i++) sink[i % 8] = fn();
  const perCall: number[] = [];
  for (let b = 0; b < ITERATIONS / BATCH; b++) {
    const start = performance.now();
    for (let i = 0; i < BATCH; i++) sink[i % 8] = fn();
    perCall.push(((performance.now() - start) * 1000) / BATCH);
  }
  if (sink.length === 0) throw new Error('unreachable');
  perCall.sort((a, b) => a - b);
  return { p50: perCall[Math.floor(perCall.length / 2)]!, p99: perCall[Math.min(perCall.length - 1, Math.ceil(perCall.length * 0.99) - 1)]! };
}

async function timeAsync(fn: () => Promise<unknown>, iterations: number): Promise<Timing> {
  for (let i = 0; i < 50; i++) await fn();
  const each: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const start = performance.now();
    await fn();
    each.push((performance.now() - start) * 1000);
  }
  each.sort((a, b) => a - b);
  return { p50: each[Math.floor(each.length / 2)]!, p99: each[Math.min(each.length - 1, Math.ceil(each.length * 0.99) - 1)]! };
}

async function pipelineFrom(manifest: Manifest, folder: string): Promise<TextPipeline> {
  const pipeline = await loadTextPipeline(manifest, (path) => readFile(join(folder, path), 'utf8'));
  if (!pipeline) throw new Error('no pipeline');
  return pipeline;
}

async function main(): Promise<void> {
  // TF-IDF: the largest lowercase (1, 2)-gram vectorizer of the exactness fixture (sklearn 1.2.1 export).
  const fixture = JSON.parse(await readFile(join(ROOT, 'test/fixtures/text/tfidf-cases.json'), 'utf8')) as {
    cases: { name: string; artifact: { vocabulary: Record<string, number>; ngram_range: number[]; lowercase: boolean } }[];
  };
  const tfidfCase = fixture.cases
    .filter((c) => c.artifact.ngram_range[0] === 1 && c.artifact.ngram_range[1] === 2 && c.artifact.lowercase)
    .reduce((a, b) => (Object.keys(b.artifact.vocabulary).length > Object.keys(a.artifact.vocabulary).length ? b : a));
  const tfidf = await loadTextPipeline({ preprocessing: [{ type: 'tfidf', artifact: 'tfidf.json' }] }, async () => JSON.stringify(tfidfCase.artifact));
  // Keras: the intents-keras example as it ships (maxlen 20, post padding and truncating).
  const kerasFolder = join(ROOT, 'examples/models/intents-keras/1');
  const keras = await pipelineFrom(parseManifest(await readFile(join(kerasFolder, 'model.yaml'), 'utf8')), kerasFolder);

  const tokenizer = JSON.parse(await readFile(join(kerasFolder, 'tokenizer.json'), 'utf8')) as { word_index: Record<string, number> };
  const unigrams = Object.keys(tfidfCase.artifact.vocabulary).filter((t) => !t.includes(' '));
  const vocabulary = [...new Set([...unigrams, ...Object.keys(tokenizer.word_index).filter((w) => w !== '<OOV>')])];
  const text = thousandWords(vocabulary);
  const short = 'Where is my order? It was due on Monday 📦';
  const words = text.split(' ').length;

  const rows: [string, Timing][] = [];
  rows.push(['reference: text.split(\' \')', time(() => text.split(' '))]);
  rows.push(['reference: text.toLowerCase()', time(() => text.toLowerCase())]);
  rows.push([`TF-IDF step (${Object.keys(tfidfCase.artifact.vocabulary).length} terms, 1-2-grams) -> FP32 [1, V]`, time(() => tfidf!.toTensors([text]))]);
  rows.push(['Keras tokenizer step (maxlen 20) -> INT64 [1, 20]', time(() => keras.toTensors([text]))]);
  rows.push(['TF-IDF step, short text (8 words)', time(() => tfidf!.toTensors([short]))]);
  rows.push(['Keras tokenizer step, short text (8 words)', time(() => keras.toTensors([short]))]);

  const session = await ort.InferenceSession.create(join(ROOT, 'examples/models/intents-tfidf/1/model.onnx'), {
    intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all',
  });
  const input = new ort.Tensor('string', [text], [1, 1]);
  const ortRun = await timeAsync(() => session.run({ input }), 500);
  await session.release();

  const date = new Date();
  const us = (n: number) => n.toFixed(1);
  const tfidfRow = rows[2]![1];
  const kerasRow = rows[3]![1];
  const split = rows[0]![1];
  const met = (t: Timing) => (t.p99 < TARGET_MS * 1000 ? 'met' : '**NOT met**');
  const report = `# Text preprocessing bench

${machine(date, ROOT)}
- text: ${words} words, ${text.length} UTF-16 units (corpus words, unseen words, punctuation, capitals, emoji); ${ITERATIONS} timed calls per case in batches of ${BATCH}, after a warm-up
- TF-IDF artifact: test/fixtures/text/tfidf-cases.json "${tfidfCase.name}"; Keras: examples/models/intents-keras/1

| case | p50 µs/call | p99 µs/call | vs split p50 |
|---|---:|---:|---:|
${rows.map(([name, t]) => `| ${name} | ${us(t.p50)} | ${us(t.p99)} | ${(t.p50 / split.p50).toFixed(1)}x |`).join('\n')}
| context: ORT session.run of the whole-graph intents-tfidf model on the same text (its own tokenizer), 500 runs | ${us(ortRun.p50)} | ${us(ortRun.p99)} | ${(ortRun.p50 / split.p50).toFixed(1)}x |

- target: a 1,000-word text preprocessed in under ${TARGET_MS} ms: TF-IDF ${met(tfidfRow)} (p99 ${us(tfidfRow.p99)} µs), Keras tokenizer ${met(kerasRow)} (p99 ${us(kerasRow.p99)} µs)
`;
  const out = join(ROOT, 'bench/results');
  await mkdir(out, { recursive: true });
  await writeFile(join(out, `text-${date.toISOString().slice(0, 10)}.md`), report);
  await writeFile(join(out, 'text-latest.md'), report);
  console.log(report);
}

await main();
