import { datatypeInfo } from './datatypes.js';
import type { Signature } from './model-schema.js';
import { elementCount } from './tensor.js';

/** Largest output a graph may declare with a fully static shape: one that size comes back from every run. */
export const MAX_STATIC_OUTPUT_BYTES = 2 ** 30;

/**
 * Refuses a graph that declares a static output larger than MAX_STATIC_OUTPUT_BYTES (a
 * ConstantOfShape of a huge constant): every run would fail, or answer gigabytes. Checked at
 * upload and load; outputs with a dynamic dimension are sized per run (ortRunError maps those).
 */
export function checkStaticOutputs(signature: Signature): void {
  for (const output of signature.outputs) {
    const size = datatypeInfo(output.datatype).size;
    if (size === 0 || output.shape.some((d) => d < 0)) continue;
    const bytes = elementCount(output.shape) * size;
    if (bytes > MAX_STATIC_OUTPUT_BYTES) {
      throw new Error(
        `output '${output.name}' is declared [${output.shape.join(', ')}] ${output.datatype}: ${bytes} bytes on every run, ` +
          `more than the ${MAX_STATIC_OUTPUT_BYTES} bytes (1 GiB) a static output may have`,
      );
    }
  }
}
