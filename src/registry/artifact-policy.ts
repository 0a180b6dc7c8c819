import { PlinthError, printable } from '../core/errors.js';
import { isObjectNpy, looksLikeCompressedPickle, looksLikePickle } from './pickle-sniffer.js';

/**
 * The hand-written rules of the upload intake: limits, entry paths, refused file kinds.
 * No I/O here; model-intake.service.ts and archive-extractor.ts apply these while streaming.
 */
export interface IntakeLimits {
  /** Bytes of the upload as received (the archive, or the single .onnx file). 413 when exceeded. */
  maxUploadBytes: number;
  /** Sum of the extracted files' sizes. 413. */
  maxExtractedBytes: number;
  /** Size of any one extracted file (model.onnx included). 413. */
  maxFileBytes: number;
  /** Archive entries of every kind (files, folders, skipped junk). 413. */
  maxEntries: number;
  /** Extracted bytes per compressed byte, for the whole archive and for each zip entry. 413. */
  maxCompressionRatio: number;
  /** The ratio is only judged once this many bytes are extracted (tiny archives compress oddly). */
  ratioCheckAboveBytes: number;
  /** UTF-8 bytes of an entry's path inside the archive. 400. */
  maxPathLength: number;
  /** Size of an XGBoost JSON model (model.json), which is parsed as one JavaScript string. 413. */
  maxXgboostJsonBytes: number;
}

const MiB = 1024 * 1024;
export const DEFAULT_INTAKE_LIMITS: IntakeLimits = Object.freeze({
  maxUploadBytes: 1024 * MiB,
  maxExtractedBytes: 4096 * MiB,
  maxFileBytes: 2047 * MiB, // protobuf (and so ONNX Runtime) cannot read one message past 2 GiB
  maxEntries: 1000,
  maxCompressionRatio: 200,
  ratioCheckAboveBytes: 1 * MiB,
  maxPathLength: 240,
  // V8 strings stop at 512 MiB, and the parsed trees take several times the text.
  maxXgboostJsonBytes: 256 * MiB,
});

/** Folder depth and segment length past which a path is refused (filesystems stop at 255 bytes). */
const MAX_DEPTH = 32;
const MAX_SEGMENT_BYTES = 255;

export const invalid = (entry: string, rule: string) =>
  new PlinthError('INVALID_INPUT', `upload entry '${printable(entry, 120)}' refused: ${rule}`);
export const tooLarge = (message: string) => new PlinthError('PAYLOAD_TOO_LARGE', `upload refused: ${message}`);

export const formatBytes = (n: number) =>
  n >= MiB ? `${+(n / MiB).toFixed(1)} MiB` : n >= 1024 ? `${+(n / 1024).toFixed(1)} KiB` : `${n} bytes`;

/**
 * Validates an archive entry's name (or an ONNX external-data location) and returns it
 * normalized: '/'-separated segments, with empty and '.' segments dropped ("./model.onnx" is
 * what `tar -C dir .` writes). Refuses rather than repairs everything that could reach outside
 * the model folder or mean different things on different systems.
 */
export function normalizeEntryPath(
  raw: string,
  limits: Pick<IntakeLimits, 'maxPathLength'>,
  what = 'path',
  refuse: (rule: string) => Error = (rule) => invalid(raw, rule),
): string {
  const fail = (rule: string): never => {
    throw refuse(rule);
  };
  if (raw.length === 0) fail(`empty ${what}`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(raw)) fail(`the ${what} contains a NUL or control character`);
  if (Buffer.byteLength(raw) > limits.maxPathLength) {
    fail(`the ${what} is longer than ${limits.maxPathLength} bytes`);
  }
  if (raw.includes('\\')) fail(`the ${what} contains a backslash; use '/' between folders`);
  if (/^[A-Za-z]:/.test(raw)) fail(`the ${what} starts with a drive letter; paths must be relative`);
  if (raw.startsWith('/')) fail(`the ${what} is absolute; paths must be relative to the model folder`);
  const segments = raw.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) fail(`the ${what} has a '..' segment, which would leave the model folder`);
  if (segments.length === 0) fail(`the ${what} names no file`);
  if (segments.length > MAX_DEPTH) fail(`the ${what} is nested deeper than ${MAX_DEPTH} folders`);
  for (const s of segments) {
    if (Buffer.byteLength(s) > MAX_SEGMENT_BYTES) fail(`a ${what} segment is longer than ${MAX_SEGMENT_BYTES} bytes`);
  }
  return segments.join('/');
}

/** Operating-system clutter that archivers add; skipped (never written), still counted as entries. */
export function isJunk(path: string): boolean {
  const segments = path.split('/');
  const base = segments[segments.length - 1]!;
  return segments[0] === '__MACOSX' || base === '.DS_Store' || base === 'Thumbs.db' || base.startsWith('._');
}

/**
 * Tracks claimed paths so that no entry is written twice, nor a file where a folder is (or the
 * reverse). Keys are case- and Unicode-normalization-insensitive, because 'Model.onnx' and
 * 'model.onnx' are the same file on macOS and Windows.
 */
export class PathClaims {
  private readonly files = new Set<string>();
  private readonly dirs = new Set<string>();
  private static key = (p: string) => p.normalize('NFC').toLowerCase();

  claimFile(path: string, raw: string): void {
    const key = PathClaims.key(path);
    if (this.files.has(key)) throw invalid(raw, `duplicate path '${printable(path, 120)}' (another entry already wrote it)`);
    if (this.dirs.has(key)) throw invalid(raw, `'${printable(path, 120)}' is a folder in this archive and cannot also be a file`);
    this.claimParents(path, raw);
    this.files.add(key);
  }

  claimDir(path: string, raw: string): void {
    const key = PathClaims.key(path);
    if (this.files.has(key)) throw invalid(raw, `'${printable(path, 120)}' is a file in this archive and cannot also be a folder`);
    this.claimParents(path, raw);
    this.dirs.add(key);
  }

  private claimParents(path: string, raw: string): void {
    const segments = path.split('/');
    for (let i = 1; i < segments.length; i++) {
      const parent = PathClaims.key(segments.slice(0, i).join('/'));
      if (this.files.has(parent)) throw invalid(raw, `'${printable(parent, 120)}' is a file in this archive and cannot also be a folder`);
      this.dirs.add(parent);
    }
  }
}

const EXPORT_HINT =
  'Plinth accepts ONNX models only and never loads pickled or framework-specific files. ' +
  'Export the model to ONNX first (PyTorch: torch.onnx.export; scikit-learn: skl2onnx; ' +
  'TensorFlow/Keras: tf2onnx) and upload the .onnx file or an archive of a folder holding model.onnx';

/** Extensions of formats that execute code when loaded (pickle) or are not ONNX model formats Plinth would ever load. */
const REFUSED_EXTENSIONS: Record<string, string> = {
  '.pkl': 'a Python pickle',
  '.pickle': 'a Python pickle',
  '.joblib': 'a joblib (pickle) file',
  '.sav': 'a pickled scikit-learn model',
  '.pt': 'a PyTorch (pickle) file',
  '.pth': 'a PyTorch (pickle) file',
  '.ckpt': 'a PyTorch/Lightning checkpoint (pickle)',
  '.h5': 'a Keras HDF5 file',
  '.hdf5': 'a Keras HDF5 file',
  '.keras': 'a Keras archive',
};

export function refusedFormat(entry: string, kind: string): PlinthError {
  return invalid(entry, `it is ${kind}. ${EXPORT_HINT}`);
}

/** Refuses a file by its name alone. */
export function checkExtension(path: string): void {
  const base = path.slice(path.lastIndexOf('/') + 1).toLowerCase();
  const dot = base.lastIndexOf('.');
  if (dot < 0) return;
  const kind = REFUSED_EXTENSIONS[base.slice(dot)];
  if (kind) throw refusedFormat(path, kind);
}

export const hasRefusedExtension = (name: string) => {
  const base = name.slice(name.lastIndexOf('/') + 1).toLowerCase();
  const dot = base.lastIndexOf('.');
  return dot >= 0 && base.slice(dot) in REFUSED_EXTENSIONS;
};

/** What the first bytes (and the last byte) of a file say it is, for the formats refused by content. */
export type Sniffed = 'pickle' | 'compressed-pickle' | 'npy-object' | 'hdf5' | 'zip' | undefined;

const HDF5 = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);
const ZIP_LOCAL = Buffer.from([0x50, 0x4b, 0x03, 0x04]);
/** Bytes of each file kept for sniffing: a protocol 0 pickle's opening, a .npy header. */
export const HEAD_BYTES = 512;

/**
 * `strict` (for model.onnx, which must be protobuf anyway): a pickle protocol 2-5 header is
 * enough. Otherwise (any artifact, e.g. raw tensor bytes that may start with 0x80 by chance) the
 * file must also end with the STOP opcode '.' or start like torch's legacy format
 * (PROTO 2, LONG1 magic number), which keeps false positives below one in a million.
 * Protocols 0 and 1 (text-like opcodes), zlib/gzip-compressed pickles (joblib) and .npy files of
 * Python objects are recognised by pickle-sniffer.ts, whose rule is documented there.
 */
export function sniff(head: Buffer, last: number | undefined, strict: boolean, size = head.length): Sniffed {
  if (head.length >= 2 && head[0] === 0x80 && head[1]! >= 2 && head[1]! <= 5) {
    if (strict || last === 0x2e || head[2] === 0x8a) return 'pickle';
  }
  if (looksLikePickle(head, last, size)) return 'pickle';
  if (looksLikeCompressedPickle(head)) return 'compressed-pickle';
  if (isObjectNpy(head)) return 'npy-object';
  if (head.length >= HDF5.length && head.subarray(0, HDF5.length).equals(HDF5)) return 'hdf5';
  if (head.length >= 4 && head.subarray(0, 4).equals(ZIP_LOCAL)) return 'zip';
  return undefined;
}
