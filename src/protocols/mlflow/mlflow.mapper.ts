import type { Static } from '@sinclair/typebox';
import { invalidInput, printable } from '../../core/errors.js';
import { nestElements, tensorFromJson, tensorToElements, type TensorSpec } from '../../core/tensor.js';
import type { InferenceService } from '../../inference/inference.service.js';
import type { CallContext } from '../../runtime/model-runtime.js';
import type { InferenceRequest, InferenceResponse } from '../../inference/inference.types.js';
import { csvRecords } from '../../http/csv-body.parser.js';
import { rowsToRecords } from '../../core/records.mapper.js';
import type { InvocationsBody } from './mlflow.schema.js';

type Body = Static<typeof InvocationsBody>;

export type MlflowInput = { kind: 'records'; records: unknown[]; textual?: boolean } | { kind: 'tensors'; named: Record<string, unknown> | unknown[] };

/** Which of MLflow's input formats the body uses, decoded to records or raw tensors. */
export function decodeMlflowBody(body: Body): MlflowInput {
  const csv = csvRecords(body);
  if (csv) return { kind: 'records', records: csv, textual: true };
  const formats = (['dataframe_split', 'dataframe_records', 'instances', 'inputs'] as const).filter((k) => body[k] !== undefined);
  if (formats.length !== 1) {
    throw invalidInput(
      formats.length === 0
        ? 'expected one of dataframe_split, dataframe_records, instances or inputs (or a text/csv body)'
        : `give only one input format, got ${formats.join(' and ')}`,
    );
  }
  if (body.params && Object.keys(body.params).length) {
    throw invalidInput(`unknown param '${printable(Object.keys(body.params)[0]!, 60)}': ONNX models take no inference params`);
  }
  if (body.dataframe_split) {
    const { columns, data } = body.dataframe_split;
    return { kind: 'records', records: rowsToRecords(columns, data, (i) => `dataframe_split.data[${i}]`, 'column') };
  }
  if (body.dataframe_records) return { kind: 'records', records: body.dataframe_records };
  const value = (body.instances ?? body.inputs)!;
  const isRecords = Array.isArray(value) && value.length > 0 && value.every((v) => v !== null && typeof v === 'object' && !Array.isArray(v));
  return isRecords ? { kind: 'records', records: value } : { kind: 'tensors', named: value };
}

/** The shape of nested arrays, read along the first element at each level (raggedness is checked when flattening). */
function shapeOf(value: unknown): number[] {
  const shape: number[] = [];
  let node = value;
  while (Array.isArray(node)) {
    shape.push(node.length);
    node = node[0];
    if (shape.length > 16) throw invalidInput('tensor input is nested deeper than 16 dimensions');
  }
  return shape;
}

/** MLflow tensor input: `{name: nested}` or, for a single-input model, the nested array itself. */
export function toTensorRequest(named: Record<string, unknown> | unknown[], inputs: TensorSpec[]): InferenceRequest {
  const entries = Array.isArray(named) ? (inputs.length === 1 ? [[inputs[0]!.name, named] as const] : undefined) : Object.entries(named);
  if (!entries) throw invalidInput(`this model takes ${inputs.length} inputs; send inputs as an object keyed by ${inputs.map((i) => `'${i.name}'`).join(', ')}`);
  return {
    inputs: entries.map(([name, value]) => {
      const spec = inputs.find((i) => i.name === name);
      if (!spec) throw invalidInput(`unknown input '${printable(name, 60)}'; the model takes ${inputs.map((i) => `'${i.name}'`).join(', ')}`);
      return tensorFromJson(name, spec.datatype, shapeOf(value), value);
    }),
  };
}

/** One output: its nested array; several: an object keyed by output name (as MLflow's tensor models answer). */
export function tensorPredictions(response: InferenceResponse): unknown {
  const nested = response.outputs.map((t) => [t.name, nestElements(tensorToElements(t), t.shape)] as const);
  return nested.length === 1 ? nested[0]![1] : Object.fromEntries(nested);
}

/** Runs an MLflow body against a model: records through the features, tensors straight to the graph. */
export async function invokeMlflow(inference: InferenceService, name: string, selector: string | undefined, body: Body, call?: CallContext) {
  const input = decodeMlflowBody(body);
  if (input.kind === 'records') {
    const p = await inference.predict(name, selector, input.records, { textual: input.textual, probabilities: false }, call);
    return { predictions: p.predictions, model_name: p.modelName, model_version: p.modelVersion };
  }
  const d = await inference.describe(name, selector);
  // A text model's `inputs: ["...", "..."]`: one text per row, under its single text feature.
  const text = d.schema.features?.length === 1 && d.schema.features[0]!.type === 'text' ? d.schema.features[0]!.name : undefined;
  if (text && Array.isArray(input.named) && input.named.every((v) => typeof v === 'string')) {
    const p = await inference.predict(d.name, d.version, input.named.map((v) => ({ [text]: v })), { probabilities: false }, call);
    return { predictions: p.predictions, model_name: p.modelName, model_version: p.modelVersion };
  }
  const response = await inference.infer(d.name, d.version, toTensorRequest(input.named, d.signature.inputs), call);
  return { predictions: tensorPredictions(response), model_name: response.modelName, model_version: response.modelVersion };
}
