import { invalidInput } from '../../core/errors.js';
import { checkRowCount, type RowLimit } from '../../core/row-limit.js';
import { tensorFromJson, tensorToElements, type Tensor } from '../../core/tensor.js';
import { decodeBinaryTensor, encodeBinaryTensor } from '../../core/tensor-binary.codec.js';
import type { InferenceRequest, InferenceResponse } from '../../inference/inference.types.js';
import type { InferRequestBody, InferResponseBody } from './v2.schema.js';

function binarySize(parameters: Record<string, unknown> | undefined, name: string): number | undefined {
  const size = parameters?.binary_data_size;
  if (size === undefined) return undefined;
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 0) {
    throw invalidInput(`input '${name}': parameters.binary_data_size must be a non-negative integer`);
  }
  return size;
}

/**
 * Decodes a V2 request (JSON, or JSON header plus binary tail) into tensors. An input whose
 * shape[0] (its rows) is past the server's row limit is refused before its data is decoded.
 */
export function toInferenceRequest(body: InferRequestBody, tail: Buffer | null, rowLimit?: RowLimit): InferenceRequest {
  let offset = 0;
  const inputs: Tensor[] = body.inputs.map((input) => {
    checkRowCount(input.shape[0] ?? 0, rowLimit);
    const size = binarySize(input.parameters, input.name);
    if (size !== undefined) {
      if (input.data !== undefined) throw invalidInput(`input '${input.name}': give either data or parameters.binary_data_size, not both`);
      if (!tail || offset + size > tail.length) {
        throw invalidInput(`input '${input.name}': binary_data_size ${size} runs past the binary data (${tail?.length ?? 0} bytes after the JSON header)`);
      }
      const bytes = tail.subarray(offset, offset + size);
      offset += size;
      return decodeBinaryTensor(input.name, input.datatype, input.shape, bytes);
    }
    if (input.data === undefined) throw invalidInput(`input '${input.name}': data is required (or parameters.binary_data_size with a binary body)`);
    return tensorFromJson(input.name, input.datatype, input.shape, input.data);
  });
  if (tail && offset !== tail.length) {
    throw invalidInput(`the binary data holds ${tail.length} bytes but the inputs' binary_data_size add up to ${offset}`);
  }
  return { id: body.id, inputs, outputs: body.outputs?.map((o) => o.name) };
}

/** Names of outputs the caller wants in binary: per output, or all via binary_data_output. */
export function binaryOutputs(body: InferRequestBody, all: string[]): Set<string> {
  if (body.parameters?.binary_data_output === true) return new Set(all);
  return new Set((body.outputs ?? []).filter((o) => o.parameters?.binary_data === true).map((o) => o.name));
}

export interface EncodedResponse {
  json: InferResponseBody;
  /** Present when some outputs travel as binary: the bytes to append after the JSON header. */
  binary?: Buffer[];
}

export function toInferResponse(response: InferenceResponse, binary: Set<string>): EncodedResponse {
  const chunks: Buffer[] = [];
  const outputs = response.outputs.map((t) => {
    if (!binary.has(t.name)) return { name: t.name, shape: t.shape, datatype: t.datatype, data: tensorToElements(t) };
    const bytes = encodeBinaryTensor(t);
    chunks.push(bytes);
    return { name: t.name, shape: t.shape, datatype: t.datatype, parameters: { binary_data_size: bytes.length } };
  });
  const json: InferResponseBody = {
    model_name: response.modelName,
    model_version: response.modelVersion,
    ...(response.id !== undefined ? { id: response.id } : {}),
    outputs,
  };
  return chunks.length ? { json, binary: chunks } : { json };
}
