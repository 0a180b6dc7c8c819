/**
 * Text pipelines declared in model.yaml (`preprocessing`, `postprocessing`): texts in, the input
 * tensors the ONNX session takes out; and class indices or probabilities back to category names.
 * Artifacts are JSON files in the model's version folder, read through the caller's
 * `readArtifact`, so this module does no I/O of its own. Nothing here unpickles anything.
 */
import type { Datatype } from '../core/datatypes.js';
import { describeValue, invalidInput, printable } from '../core/errors.js';
import type { Feature, Manifest, PostprocessingStep, PreprocessingStep } from '../core/manifest.js';
import { describeModel, type ModelSchema, type Signature } from '../core/model-schema.js';
import type { RecordOptions } from '../core/records.mapper.js';
import type { Tensor, TensorSpec } from '../core/tensor.js';
import { ArtifactError, parseArtifactJson } from './artifact-fields.js';
import { LabelDecoder } from './label-decoder.js';
import { padSequenceInto, SequenceTokenizer, type PadOptions, type Padding } from './sequence-tokenizer.js';
import { TfidfVectorizer } from './tfidf-vectorizer.js';

/** Reads a file of the model's version folder, by its path relative to that folder, as UTF-8. */
export type ReadArtifact = (path: string) => Promise<string>;

export const PREPROCESSING_TYPES = ['tfidf', 'keras_tokenizer'] as const;
export const POSTPROCESSING_TYPES = ['label_decoder'] as const;
export type PreprocessingType = (typeof PREPROCESSING_TYPES)[number];

/** The record field a pipeline reads when the manifest lists no features. */
export const DEFAULT_TEXT_FEATURE = 'text';

/** What one preprocessing step feeds, for /info-style descriptions and logs. */
export interface TextStepInfo {
  type: PreprocessingType;
  artifact: string;
  input: string;
  datatype: Datatype;
  /** [-1, width]: one row per text. */
  shape: number[];
}

export interface DecodedLabels {
  /** The category of each row. */
  labels: string[];
  /** Each row's class probabilities, in `classes` order, when the output holds probabilities. */
  probabilities?: number[][];
}

interface Vectorizer {
  readonly info: TextStepInfo;
  tensor(texts: readonly string[]): Tensor;
}

const FLOAT_TYPES: readonly Datatype[] = ['FP32', 'FP64'];
const SEQUENCE_TYPES: readonly Datatype[] = ['INT32', 'INT64', 'FP32', 'FP64'];

function allocate(datatype: Datatype, length: number): Float32Array | Float64Array | Int32Array | BigInt64Array {
  switch (datatype) {
    case 'FP64': return new Float64Array(length);
    case 'INT32': return new Int32Array(length);
    case 'INT64': return new BigInt64Array(length);
    default: return new Float32Array(length);
  }
}

class TfidfStep implements Vectorizer {
  constructor(readonly info: TextStepInfo, private readonly vectorizer: TfidfVectorizer) {}

  tensor(texts: readonly string[]): Tensor {
    const width = this.vectorizer.size;
    const data = allocate(this.info.datatype, texts.length * width) as Float32Array | Float64Array;
    texts.forEach((text, row) => this.vectorizer.transformInto(text, data, row * width));
    return { name: this.info.input, datatype: this.info.datatype, shape: [texts.length, width], data };
  }
}

class KerasStep implements Vectorizer {
  private readonly row: Int32Array;

  constructor(readonly info: TextStepInfo, private readonly tokenizer: SequenceTokenizer, private readonly pad: PadOptions) {
    this.row = new Int32Array(pad.maxlen);
  }

  tensor(texts: readonly string[]): Tensor {
    const { maxlen } = this.pad;
    const data = allocate(this.info.datatype, texts.length * maxlen);
    const row = this.row;
    texts.forEach((text, r) => {
      padSequenceInto(this.tokenizer.textToSequence(text), this.pad, row);
      const offset = r * maxlen;
      if (data instanceof BigInt64Array) {
        for (let i = 0; i < maxlen; i++) data[offset + i] = BigInt(row[i]!);
      } else {
        data.set(row, offset);
      }
    });
    return { name: this.info.input, datatype: this.info.datatype, shape: [texts.length, maxlen], data };
  }
}

/** A loaded pipeline: validated artifacts, bound to the model's inputs and outputs. */
export class TextPipeline {
  /** The record field holding the text (one text feature). */
  readonly feature: Feature;
  readonly steps: readonly TextStepInfo[];

  constructor(
    feature: Feature,
    private readonly vectorizers: readonly Vectorizer[],
    /** The label decoder, when postprocessing has one. */
    readonly labels?: LabelDecoder,
    /** The output the label decoder reads; guessed at decode time when undefined. */
    readonly labelOutput?: string,
  ) {
    this.feature = feature;
    this.steps = vectorizers.map((v) => v.info);
  }

  /** Whether the pipeline makes the model's input tensors (false: postprocessing only). */
  get preprocesses(): boolean {
    return this.vectorizers.length > 0;
  }

  /** Category names in class-index (probability column) order, from the label decoder. */
  get classes(): string[] | undefined {
    return this.labels ? [...this.labels.classes] : undefined;
  }

  /** The input tensors for a batch of texts, one per preprocessing step, in manifest order. */
  toTensors(texts: readonly string[]): Tensor[] {
    if (!this.preprocesses) throw new Error('this model has no preprocessing steps: map its records with recordsToTensors from core/records.mapper');
    if (texts.length === 0) throw invalidInput('expected at least one text');
    return this.vectorizers.map((v) => v.tensor(texts));
  }

  /**
   * Records keyed by the text feature (`{"text": "..."}`) to input tensors, with the records
   * mapper's checks and messages: objects only, no unknown fields, the feature's default when
   * a record omits it, numbers and booleans turned into strings.
   */
  recordsToTensors(records: readonly unknown[], options: RecordOptions = {}): Tensor[] {
    if (records.length === 0) throw invalidInput('expected at least one record');
    const label = options.rowLabel ?? ((row: number) => `record ${row}`);
    const { name, default: fallback } = this.feature;
    const texts = records.map((record, row) => {
      if (record === null || typeof record !== 'object' || Array.isArray(record)) {
        throw invalidInput(`${label(row)}: expected an object keyed by feature name`);
      }
      for (const key in record) {
        if (key !== name) throw invalidInput(`${label(row)}: unknown feature '${printable(key, 60)}'; the model expects 1 feature: ${name}`);
      }
      let value = (record as Record<string, unknown>)[name];
      if (value === undefined || value === null) {
        if (fallback === undefined) throw invalidInput(`${label(row)}: missing feature '${name}' (it has no default in the model's manifest)`);
        value = fallback;
      }
      if (typeof value === 'number' || typeof value === 'boolean') value = String(value);
      if (typeof value !== 'string') throw invalidInput(`${label(row)}: feature '${name}' expected a string, got ${describeValue(value)}`);
      return value;
    });
    return this.toTensors(texts);
  }

  /**
   * The label decoder's categories for each row: from an output of class indices ([N] or
   * [N, 1] integers), or the highest of each row's probabilities ([N, classes]). Undefined when
   * the pipeline has no label decoder.
   */
  decode(outputs: ReadonlyMap<string, Tensor>, rows: number): DecodedLabels | undefined {
    const decoder = this.labels;
    if (!decoder) return undefined;
    const tensor = this.labelOutput !== undefined ? outputs.get(this.labelOutput) : guessOutput([...outputs.values()]);
    if (!tensor) throw new Error(`the model produced no output '${this.labelOutput ?? 'probabilities'}' for the label decoder`);
    const values = tensor.data;
    if (Array.isArray(values)) throw new Error(`output '${tensor.name}' holds strings, not class indices or probabilities`);
    const integers = tensor.datatype.startsWith('INT') || tensor.datatype.startsWith('UINT');
    if (values.length === rows && integers) {
      return { labels: Array.from(values as ArrayLike<number | bigint>, (i) => decoder.decode(i)) };
    }
    if (values.length === rows && decoder.size === 2) {
      // One probability per row is P(second class), as the records decoder reads it.
      const probabilities = Array.from(values as ArrayLike<number>, (p) => [1 - p, p]);
      return { labels: probabilities.map((p) => decoder.argmax(p)), probabilities };
    }
    const width = decoder.size;
    if (values.length !== rows * width) {
      throw new Error(`output '${tensor.name}' has ${values.length / rows} values per row, but the label decoder has ${width} classes`);
    }
    const probabilities: number[][] = [];
    for (let r = 0; r < rows; r++) probabilities.push(Array.from(values.subarray(r * width, (r + 1) * width) as ArrayLike<number | bigint>, Number));
    return { labels: probabilities.map((p) => decoder.argmax(p)), probabilities };
  }
}

const PROBABILITY_NAMES = ['probabilities', 'probability', 'output_probability', 'probs'];

function guessOutput<T extends { name: string }>(outputs: T[]): T | undefined {
  return outputs.find((o) => PROBABILITY_NAMES.includes(o.name.toLowerCase())) ?? (outputs.length === 1 ? outputs[0] : undefined);
}

const isOneOf = <T extends string>(list: readonly T[], value: string): value is T => (list as readonly string[]).includes(value);

async function readJson(step: string, artifact: string, readArtifact: ReadArtifact): Promise<unknown> {
  let text: string;
  try {
    text = await readArtifact(artifact);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new ArtifactError(artifact, `not found in the model's folder (${step} names it)`);
    throw new ArtifactError(artifact, `could not be read (${step} names it): ${(err as Error).message.split('\n')[0]}`);
  }
  return parseArtifactJson(artifact, text);
}

function textFeature(manifest: Manifest): Feature {
  const features = manifest.features;
  if (!features) return { name: DEFAULT_TEXT_FEATURE, type: 'text' };
  const only = features[0];
  if (features.length !== 1 || !only || (only.type !== undefined && only.type !== 'text')) {
    throw new Error(
      `model.yaml /features: a model with preprocessing takes one text feature (e.g. [{name: text, type: text}]), got ${features
        .map((f) => `'${f.name}' (${f.type ?? 'numeric'})`)
        .join(', ')}`,
    );
  }
  return { ...only, type: 'text' };
}

/** The model input a step feeds: the one it names, or the model's only input. */
function bindInput(at: string, step: PreprocessingStep, signature: Signature | undefined): TensorSpec | undefined {
  if (!signature) return undefined;
  const names = signature.inputs.map((i) => i.name).join(', ');
  if (step.input !== undefined) {
    const spec = signature.inputs.find((i) => i.name === step.input);
    if (!spec) throw new Error(`model.yaml ${at}/input: the model has no input '${step.input}' (its inputs: ${names})`);
    return spec;
  }
  if (signature.inputs.length !== 1) throw new Error(`model.yaml ${at}: name the input this step feeds (input: ...); the model has inputs ${names}`);
  return signature.inputs[0];
}

/** The fixed width of an [N, width] input, -1 when dynamic; throws for other ranks. */
function inputWidth(artifact: string, spec: TensorSpec): number {
  if (spec.shape.length !== 2) {
    throw new ArtifactError(artifact, `feeds input '${spec.name}' of shape [${spec.shape.join(', ')}], but a text step makes [N, width] tensors`);
  }
  return spec.shape[1]!;
}

/** The input's datatype if the step can write it; `fallback` when the signature is not known. */
function checkDatatype(artifact: string, spec: TensorSpec | undefined, allowed: readonly Datatype[], fallback: Datatype, what: string): Datatype {
  if (!spec) return fallback;
  if (!allowed.includes(spec.datatype)) {
    throw new ArtifactError(artifact, `makes ${what}, but input '${spec.name}' is ${spec.datatype} (expected ${allowed.join(' or ')})`);
  }
  return spec.datatype;
}

function padOption(at: string, key: 'padding' | 'truncating', value: string | undefined): Padding {
  if (value === undefined) return 'pre'; // Keras' pad_sequences default
  if (value !== 'pre' && value !== 'post') throw new Error(`model.yaml ${at}/${key}: expected 'pre' or 'post', got '${printable(value, 40)}'`);
  return value;
}

const KERAS_ONLY = ['maxlen', 'padding', 'truncating', 'value'] as const;

async function loadStep(at: string, step: PreprocessingStep, readArtifact: ReadArtifact, signature: Signature | undefined): Promise<Vectorizer> {
  const type = step.type;
  if (!isOneOf(PREPROCESSING_TYPES, type)) {
    throw new Error(`model.yaml ${at}/type: unknown preprocessing step type '${printable(type, 40)}'; expected one of ${PREPROCESSING_TYPES.join(', ')}`);
  }
  const spec = bindInput(at, step, signature);
  const artifact = step.artifact;
  if (type === 'tfidf') {
    const misplaced = KERAS_ONLY.find((k) => step[k] !== undefined);
    if (misplaced) throw new Error(`model.yaml ${at}/${misplaced}: '${misplaced}' applies to keras_tokenizer steps, not tfidf`);
    const vectorizer = TfidfVectorizer.fromArtifact(await readJson(at, artifact, readArtifact), artifact);
    const datatype = checkDatatype(artifact, spec, FLOAT_TYPES, 'FP32', 'TF-IDF vectors');
    if (spec) {
      const width = inputWidth(artifact, spec);
      if (width >= 0 && width !== vectorizer.size) {
        throw new ArtifactError(artifact, `the vocabulary has ${vectorizer.size} terms but input '${spec.name}' takes ${width} columns`);
      }
    }
    const info: TextStepInfo = { type, artifact, input: spec?.name ?? step.input ?? 'input', datatype, shape: [-1, vectorizer.size] };
    return new TfidfStep(info, vectorizer);
  }

  const tokenizer = SequenceTokenizer.fromArtifact(await readJson(at, artifact, readArtifact), artifact);
  const datatype = checkDatatype(artifact, spec, SEQUENCE_TYPES, 'INT64', 'token index sequences');
  const width = spec ? inputWidth(artifact, spec) : -1;
  let maxlen = step.maxlen;
  if (maxlen === undefined) {
    if (width < 0) throw new Error(`model.yaml ${at}/maxlen: required, since ${spec ? `input '${spec.name}' has no fixed width` : 'the model input is not known here'}`);
    maxlen = width;
  } else if (width >= 0 && width !== maxlen) {
    throw new Error(`model.yaml ${at}/maxlen: ${maxlen}, but input '${spec!.name}' takes sequences of ${width}`);
  }
  const pad: PadOptions = {
    maxlen,
    padding: padOption(at, 'padding', step.padding),
    truncating: padOption(at, 'truncating', step.truncating),
    value: step.value ?? 0,
  };
  if (datatype === 'INT32' && (pad.value < -(2 ** 31) || pad.value >= 2 ** 31)) {
    throw new Error(`model.yaml ${at}/value: ${pad.value} does not fit input '${spec!.name}' (INT32)`);
  }
  const info: TextStepInfo = { type, artifact, input: spec?.name ?? step.input ?? 'input', datatype, shape: [-1, maxlen] };
  return new KerasStep(info, tokenizer, pad);
}

async function loadLabelDecoder(at: string, step: PostprocessingStep, readArtifact: ReadArtifact, signature: Signature | undefined) {
  if (!isOneOf(POSTPROCESSING_TYPES, step.type)) {
    throw new Error(`model.yaml ${at}/type: unknown postprocessing step type '${printable(step.type, 40)}'; expected one of ${POSTPROCESSING_TYPES.join(', ')}`);
  }
  const artifact = step.artifact;
  const decoder = LabelDecoder.fromArtifact(await readJson(at, artifact, readArtifact), artifact);
  let output = step.output;
  if (signature) {
    const names = signature.outputs.map((o) => o.name).join(', ');
    const spec = output !== undefined ? signature.outputs.find((o) => o.name === output) : guessOutput(signature.outputs);
    if (!spec) {
      throw new Error(
        output !== undefined
          ? `model.yaml ${at}/output: the model has no output '${output}' (its outputs: ${names})`
          : `model.yaml ${at}: name the output holding the class probabilities or indices (output: ...); the model has outputs ${names}`,
      );
    }
    if (spec.datatype === 'BYTES' || spec.datatype === 'BOOL') {
      throw new ArtifactError(artifact, `decodes class indices or probabilities, but output '${spec.name}' is ${spec.datatype}`);
    }
    const width = spec.shape.length === 2 ? spec.shape[1]! : 1;
    if (spec.shape.length > 2 || (width > 1 && width !== decoder.size)) {
      throw new ArtifactError(artifact, `has ${decoder.size} classes but output '${spec.name}' has shape [${spec.shape.join(', ')}]`);
    }
    output = spec.name;
  }
  return { decoder, output };
}

/**
 * Loads the text pipeline a manifest declares: reads and validates every artifact (errors name
 * the artifact or the model.yaml key, and what was expected), and, given the model's signature,
 * binds each step to its input (datatype, width) and the label decoder to its output.
 * Returns undefined when the manifest has neither `preprocessing` nor `postprocessing`.
 * Call it where a model version loads, after the session is created (for the signature), with
 * a reader of that version's folder.
 */
export async function loadTextPipeline(manifest: Manifest, readArtifact: ReadArtifact, signature?: Signature): Promise<TextPipeline | undefined> {
  const pre = manifest.preprocessing ?? [];
  const post = manifest.postprocessing ?? [];
  if (pre.length === 0 && post.length === 0) return undefined;

  const feature = pre.length ? textFeature(manifest) : { name: DEFAULT_TEXT_FEATURE, type: 'text' as const };
  const vectorizers: Vectorizer[] = [];
  for (const [i, step] of pre.entries()) {
    const vectorizer = await loadStep(`/preprocessing/${i}`, step, readArtifact, signature);
    const twice = vectorizers.find((v) => v.info.input === vectorizer.info.input);
    if (twice) throw new Error(`model.yaml /preprocessing/${i}: input '${vectorizer.info.input}' is already fed by ${twice.info.artifact}`);
    vectorizers.push(vectorizer);
  }
  if (signature && vectorizers.length) {
    const unfed = signature.inputs.find((s) => !vectorizers.some((v) => v.info.input === s.name));
    if (unfed) throw new Error(`model.yaml /preprocessing: no step feeds the model's input '${unfed.name}'`);
  }

  let labels: LabelDecoder | undefined;
  let labelOutput: string | undefined;
  for (const [i, step] of post.entries()) {
    if (labels) throw new Error(`model.yaml /postprocessing/${i}: only one label_decoder step is allowed`);
    ({ decoder: labels, output: labelOutput } = await loadLabelDecoder(`/postprocessing/${i}`, step, readArtifact, signature));
  }
  if (labels && manifest.classes) {
    const listed = manifest.classes.map(String);
    if (listed.length !== labels.size || listed.some((c, i) => c !== labels!.classes[i])) {
      throw new ArtifactError(
        post[0]!.artifact,
        `its ${labels.size} classes differ from model.yaml's ${listed.length} classes; list the same names in the same order, or drop classes from model.yaml`,
      );
    }
  }
  return new TextPipeline(feature, vectorizers, labels, labelOutput);
}

/**
 * describeModel for a model with a text pipeline: the schema's one feature is the text, with no
 * tensor binding (the pipeline makes the tensors, `pipeline.recordsToTensors`), and its classes
 * are the label decoder's unless model.yaml lists them. Without a pipeline it is describeModel.
 */
export function describeTextModel(
  signature: Signature,
  graphLabels: (string | number)[] | undefined,
  manifest: Manifest,
  pipeline: TextPipeline | undefined,
): ModelSchema {
  if (!pipeline) return describeModel(signature, graphLabels, manifest);
  const classes = manifest.classes ?? pipeline.classes;
  // The label decoder's output is the classifier's: class indices (integers) or probabilities.
  let outputs = manifest.outputs;
  const decoded = signature.outputs.find((o) => o.name === pipeline.labelOutput);
  if (decoded && !outputs?.label && !outputs?.probabilities) {
    const indices = decoded.datatype.startsWith('INT') || decoded.datatype.startsWith('UINT');
    outputs = { ...outputs, ...(indices ? { label: decoded.name } : { probabilities: decoded.name }) };
  }
  const described: Manifest = { ...manifest, ...(classes && { classes }), ...(outputs && { outputs }) };
  if (!pipeline.preprocesses) return describeModel(signature, graphLabels, described);
  const schema = describeModel(signature, graphLabels, { ...described, features: undefined });
  return { ...schema, features: [pipeline.feature], binding: undefined };
}
