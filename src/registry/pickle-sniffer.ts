import { constants, gunzipSync, inflateSync } from 'node:zlib';

/**
 * Recognises Python pickles by their first bytes, whatever the file is called (docs/security.md,
 * "Pickles by content"). A pickle is a program for a small stack machine; the rule here runs
 * that program's opening on a model of the stack, without executing anything:
 *
 * - every byte of the head must be a pickle opcode with a well-formed argument (decimal lines
 *   for I/L/p/g, a quoted string for S, `module\nname\n` identifiers for c/i, lengths that fit
 *   the file for the binary strings), and no opcode may take more from the stack than is there
 *   (APPEND needs a list and a value, SETITEM a dict, key and value, a MARK for DICT/LIST/TUPLE);
 * - at least MIN_OPCODES opcodes, or a STOP, must be read before the head runs out;
 * - an uncompressed file must also end with the STOP opcode '.'.
 *
 * Text starting with '(' or '{' fails at once (a space, a quote, a letter that is no opcode or
 * an opcode on an empty stack), so honest files are not flagged. Compressed pickles (joblib's
 * zlib and gzip files) are inflated as far as their head allows and judged the same way.
 */
const MIN_OPCODES = 4;
const MARK = Symbol('mark');
type Item = typeof MARK | 0;

/** Opcodes without an argument: [items popped, items pushed]. */
const PLAIN: Record<string, [number, number]> = {
  N: [0, 1], ')': [0, 1], ']': [0, 1], '}': [0, 1], '\x88': [0, 1], '\x89': [0, 1], '\x8f': [0, 1],
  a: [2, 1], s: [3, 1], R: [2, 1], b: [2, 1], '0': [1, 0], '2': [1, 2], '\x85': [1, 1], '\x86': [2, 1],
  '\x87': [3, 1], '\x81': [2, 1], '\x92': [3, 1], '\x93': [2, 1], '\x94': [1, 1], Q: [1, 1], '\x98': [1, 1],
  '\x97': [0, 1],
};
/** Opcodes that pop everything down to the last MARK (and the mark), then push this many. */
const TO_MARK: Record<string, number> = { d: 1, l: 1, t: 1, e: 0, u: 0, '1': 0, '\x90': 0, '\x91': 1, o: 1 };
/** Opcodes with a fixed-size argument: [argument bytes, items popped, items pushed]. */
const FIXED: Record<string, [number, number, number]> = {
  K: [1, 0, 1], M: [2, 0, 1], J: [4, 0, 1], G: [8, 0, 1], q: [1, 1, 1], r: [4, 1, 1], h: [1, 0, 1], j: [4, 0, 1],
  '\x95': [8, 0, 0], '\x82': [1, 0, 1], '\x83': [2, 0, 1], '\x84': [4, 0, 1],
};
/** Opcodes followed by a length, then that many bytes: [length bytes] (all push one item). */
const COUNTED: Record<string, number> = { U: 1, C: 1, '\x8c': 1, '\x8a': 1, T: 4, X: 4, B: 4, '\x8b': 4, '\x8d': 8, '\x8e': 8, '\x96': 8 };
/** Opcodes followed by a newline-terminated argument matching the pattern: [pattern, pushed]. */
const LINE: Record<string, RegExp> = {
  I: /^-?\d+$|^0[01]$/, L: /^-?\d+L?$/, F: /^-?(\d+\.?\d*(e[-+]?\d+)?|inf|nan)$/i, p: /^\d+$/, g: /^\d+$/,
  S: /^(['"]).*\1$/s, V: /^[^\n]*$/, P: /^[^\n]*$/,
};
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_.]*$/;

/** Where an opcode walk ended: `stop` at a STOP, `head` when the bytes ran out with all valid, `no` otherwise. */
function walk(bytes: Buffer, fileSize: number): { end: 'stop' | 'head' | 'no'; opcodes: number } {
  const stack: Item[] = [];
  let at = 0;
  let opcodes = 0;
  const popToMark = (): boolean => {
    const mark = stack.lastIndexOf(MARK);
    if (mark < 0) return false;
    stack.length = mark;
    return true;
  };
  const pop = (n: number): boolean => {
    if (stack.length - Math.max(stack.lastIndexOf(MARK) + 1, 0) < n) return false;
    stack.length -= n;
    return true;
  };
  const push = (n: number) => {
    for (let i = 0; i < n; i++) stack.push(0);
  };
  while (at < bytes.length) {
    const op = String.fromCharCode(bytes[at]!);
    at++;
    const headEnds = { end: 'head' as const, opcodes };
    if (op === '.') return stack.length >= 1 && opcodes > 0 ? { end: 'stop', opcodes } : { end: 'no', opcodes };
    if (op === '\x80') {
      if (at >= bytes.length) return headEnds;
      if (opcodes > 0 || bytes[at]! < 2 || bytes[at]! > 5) return { end: 'no', opcodes };
      at++;
    } else if (op === '(') {
      stack.push(MARK);
    } else if (op in PLAIN) {
      const [pops, pushes] = PLAIN[op]!;
      if (!pop(pops)) return { end: 'no', opcodes };
      push(pushes);
    } else if (op in TO_MARK) {
      if (!popToMark()) return { end: 'no', opcodes };
      push(TO_MARK[op]!);
    } else if (op in FIXED) {
      const [size, pops, pushes] = FIXED[op]!;
      if (at + size > bytes.length) return headEnds;
      at += size;
      if (!pop(pops)) return { end: 'no', opcodes };
      push(pushes);
    } else if (op in COUNTED) {
      const size = COUNTED[op]!;
      if (at + size > bytes.length) return headEnds;
      const length = size === 1 ? bytes[at]! : size === 4 ? bytes.readUInt32LE(at) : Number(bytes.readBigUInt64LE(at));
      if (length > fileSize) return { end: 'no', opcodes };
      at += size + length;
      push(1);
    } else if (op in LINE || op === 'c' || op === 'i') {
      const lines = op === 'c' || op === 'i' ? 2 : 1;
      const values: string[] = [];
      for (let i = 0; i < lines; i++) {
        const nl = bytes.indexOf(0x0a, at);
        if (nl < 0) return values.length === 0 && bytes.length - at > 200 ? { end: 'no', opcodes } : headEnds;
        values.push(bytes.toString('latin1', at, nl));
        at = nl + 1;
      }
      const ok = op in LINE ? LINE[op]!.test(values[0]!) : values.every((v) => IDENTIFIER.test(v));
      if (!ok) return { end: 'no', opcodes };
      if (op === 'p' && !pop(1)) return { end: 'no', opcodes };
      if (op === 'i' && !popToMark()) return { end: 'no', opcodes };
      push(1);
    } else {
      return { end: 'no', opcodes };
    }
    opcodes++;
  }
  return { end: 'head', opcodes };
}

/** Whether `head` (the file's first bytes) opens a pickle; `last` is the file's last byte. */
export function looksLikePickle(head: Buffer, last: number | undefined, fileSize: number): boolean {
  if (last !== 0x2e) return false;
  const { end, opcodes } = walk(head, fileSize);
  return end === 'stop' || (end === 'head' && opcodes >= MIN_OPCODES);
}

/** Whether `head` is the start of a zlib or gzip stream (joblib's compressors) holding a pickle. */
export function looksLikeCompressedPickle(head: Buffer): boolean {
  const gzip = head[0] === 0x1f && head[1] === 0x8b;
  const zlib = head[0] === 0x78 && [0x01, 0x5e, 0x9c, 0xda].includes(head[1]!);
  if (!gzip && !zlib) return false;
  let inner: Buffer;
  try {
    const options = { finishFlush: constants.Z_SYNC_FLUSH, maxOutputLength: 64 * 1024 };
    inner = gzip ? gunzipSync(head, options) : inflateSync(head, options);
  } catch {
    return false;
  }
  if (inner.length < 2) return false;
  const { end, opcodes } = walk(inner, Number.MAX_SAFE_INTEGER);
  return inner[0] === 0x80 ? end !== 'no' && opcodes >= 2 : end === 'stop' || (end === 'head' && opcodes >= MIN_OPCODES);
}

const NPY_MAGIC = Buffer.from('\x93NUMPY', 'latin1');

/**
 * A NumPy .npy file whose dtype holds Python objects ('O' in descr): its data is a pickle,
 * loaded only with allow_pickle=True.
 */
export function isObjectNpy(head: Buffer): boolean {
  if (head.length < 10 || !head.subarray(0, 6).equals(NPY_MAGIC)) return false;
  const major = head[6]!;
  const start = major === 1 ? 10 : 12;
  const length = major === 1 ? head.readUInt16LE(8) : head.length >= 12 ? head.readUInt32LE(8) : 0;
  const header = head.toString('latin1', start, Math.min(head.length, start + length));
  const descr = /['"]descr['"]\s*:\s*(.*?)\s*,\s*['"](fortran_order|shape)['"]/s.exec(header);
  return descr !== null && /['"][|<>=]?O\d*['"]/.test(descr[1]!);
}
