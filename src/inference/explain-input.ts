import { invalidInput, printable } from '../core/errors.js';
import type { ModelSchema } from '../core/model-schema.js';
import { tensorToElements, type Tensor } from '../core/tensor.js';
import type { Matrix } from '../explain/tree-ensemble.types.js';

/**
 * The rows to explain from Open Inference tensors: the packed [N, F] input as a feature matrix,
 * or one [N, 1] input per feature as records keyed by feature name.
 */
export function rowsFromTensors(name: string, schema: ModelSchema, tensors: Tensor[]): Matrix | Record<string, unknown>[] {
  const binding = schema.binding;
  const byName = new Map(tensors.map((t) => [t.name, t]));
  if (binding?.mode === 'packed') {
    const tensor = byName.get(binding.input.name);
    if (!tensor || tensor.shape.length !== 2) {
      throw invalidInput(`explain needs input '${binding.input.name}' as an [N, ${binding.input.shape[1]}] tensor for model '${printable(name)}'`);
    }
    const data = Float32Array.from(tensorToElements(tensor) as number[]);
    return { data, rows: tensor.shape[0]!, cols: tensor.shape[1]! };
  }
  if (binding?.mode === 'per-input') {
    const columns = binding.inputs.map((spec) => {
      const tensor = byName.get(spec.name);
      if (!tensor) throw invalidInput(`explain needs input '${spec.name}' for model '${printable(name)}'`);
      return { name: spec.name, values: tensorToElements(tensor) };
    });
    const rows = columns[0]?.values.length ?? 0;
    if (columns.some((c) => c.values.length !== rows)) throw invalidInput('every input must hold the same number of rows');
    return Array.from({ length: rows }, (_, r) => Object.fromEntries(columns.map((c) => [c.name, c.values[r]])));
  }
  throw invalidInput(`model '${printable(name)}' takes tensors its features do not describe; explain it with records at POST /models/{name}/explain`);
}
