import { invalidInput, PlinthError, printable } from '../../core/errors.js';

/**
 * ONNX Runtime's run failures that the request's shapes caused (a graph whose tensor sizes come
 * from the input, or a huge constant shape), as the caller's error naming the outputs asked for
 * and ORT's node; anything else is returned unchanged (a server fault, 500). One function for
 * every caller of session.run (inline or in a worker thread).
 */
export function ortRunError(err: unknown, outputNames: readonly string[]): unknown {
  const message = err instanceof Error ? err.message : String(err);
  // "Non-zero status code returned while running ConstantOfShape node. Name:'n1' Status Message: ..."
  const node = /running (\S+) node\. Name:'([^']*)'/.exec(message);
  const where = node ? ` (at ${printable(node[1]!, 40)} node '${printable(node[2]!, 60)}')` : '';
  const outputs = `output ${outputNames.map((n) => `'${printable(n, 60)}'`).join(', ')}`;
  const bytes = /Failed to allocate memory for requested buffer of size (\d+)/.exec(message)?.[1];
  if (bytes !== undefined) {
    return new PlinthError('OUTPUT_TOO_LARGE', `computing ${outputs} needs a tensor of ${bytes} bytes${where}, more memory than the server has: the model's tensors are too large for this input`);
  }
  if (/SafeIntOnOverflow|Integer overflow/.test(message)) {
    return new PlinthError('OUTPUT_TOO_LARGE', `computing ${outputs} needs a tensor whose size overflows 64 bits${where}: the model's tensors are too large for this input`);
  }
  if (/shape\.Size\(\) must be >= 0/.test(message)) {
    return invalidInput(`computing ${outputs}, the model made a tensor with a negative dimension from this input${where}`);
  }
  return err;
}
