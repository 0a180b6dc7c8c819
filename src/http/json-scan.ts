/** What one linear scan of a JSON body found that refuses it before it is parsed. */
export type JsonScanProblem = { kind: 'depth' } | { kind: 'rows' };

export interface JsonScanLimits {
  maxDepth: number;
  /** Most objects or arrays any one array may hold: records, dataframe rows, nested tensor rows. */
  maxRows: number;
}

/**
 * Refuses a hostile body before JSON.parse and the validators walk it: nesting deeper than
 * maxDepth, or an array holding more than maxRows objects or arrays (5,000,000 `{}` in a 15 MB
 * body take JSON.parse alone 2.5 s and 400 MB). Rows of every protocol are objects or arrays, so
 * one protocol-blind count catches them all; flat number arrays are left to the shape checks
 * (they parse into packed arrays, proportional to the body). Hand-written because
 * secure-json-parse has neither limit; it costs one pass over the bytes, no allocation per row.
 */
export function scanJson(body: Buffer, { maxDepth, maxRows }: JsonScanLimits): JsonScanProblem | undefined {
  // Exceeding either limit needs more opening brackets than it: most bodies hold a few, counted by
  // native indexOf, so the byte loop below runs only for bodies that could break one.
  if (!openingBracketsExceed(body, Math.min(maxDepth, maxRows))) return undefined;
  const isArray = new Uint8Array(maxDepth + 1);
  const children = new Uint32Array(maxDepth + 1);
  let depth = 0;
  let inString = false;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped byte
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (isArray[depth] === 1 && ++children[depth]! > maxRows) return { kind: 'rows' };
      if (++depth > maxDepth) return { kind: 'depth' };
      isArray[depth] = c === 0x5b ? 1 : 0;
      children[depth] = 0;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return undefined;
}

function openingBracketsExceed(body: Buffer, max: number): boolean {
  let count = 0;
  for (const bracket of [0x5b, 0x7b]) {
    for (let i = body.indexOf(bracket); i !== -1; i = body.indexOf(bracket, i + 1)) {
      if (++count > max) return true;
    }
  }
  return false;
}
