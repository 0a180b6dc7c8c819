import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import yauzl from 'yauzl';
import { PlinthError, printable } from '../core/errors.js';
import { parseManifest, type Manifest } from '../core/manifest.js';
import { Extraction, extractTar, extractZip, type ExtractedFile } from './archive-extractor.js';
import {
  DEFAULT_INTAKE_LIMITS, HEAD_BYTES, checkExtension, formatBytes, hasRefusedExtension, invalid, normalizeEntryPath, refusedFormat,
  sniff, tooLarge, type IntakeLimits,
} from './artifact-policy.js';
import { inspectOnnx } from './onnx-external-data.js';
import { compileXgboostUpload, XGBOOST_MODEL_FILE } from './xgboost-intake.js';

export { DEFAULT_INTAKE_LIMITS, type IntakeLimits } from './artifact-policy.js';

/** `json`: an XGBoost JSON model (Booster.save_model), compiled to model.onnx at intake. */
export type UploadFormat = 'onnx' | 'json' | 'zip' | 'tar.gz' | 'tar';

export interface IntakeRequest {
  /** The client's file name; only its extension is used (it picks the format). */
  filename: string;
  /** The upload body. Consumed to the end on success; destroyed on refusal. */
  stream: Readable | AsyncIterable<Uint8Array>;
  /** Overrides of DEFAULT_INTAKE_LIMITS. */
  limits?: Partial<IntakeLimits>;
  /** Folder under which the intake makes its own temporary folder; nothing is written elsewhere. */
  tmpRoot: string;
}

export interface IntakeFile {
  /** Relative to `dir`, '/'-separated. */
  path: string;
  size: number;
  /** Hex SHA-256 of the file's bytes. */
  sha256: string;
}

export interface IntakeResult {
  /**
   * A folder holding model.onnx, model.yaml when uploaded, and any other artifacts. An XGBoost
   * model.json is compiled: the folder then holds model.onnx, the booster as xgboost.json, and
   * model.yaml naming it.
   */
  dir: string;
  format: UploadFormat;
  /** Every file under `dir`, sorted by path. */
  files: IntakeFile[];
  /** The file the version is known by (its SHA-256 and size): model.onnx, or the XGBoost JSON it was compiled from. */
  model: IntakeFile;
  /** model.yaml, parsed and validated, when the upload has one (always, for a compiled XGBoost model). */
  manifest: Manifest | undefined;
  /** Bytes and SHA-256 of the upload exactly as received. */
  upload: { bytes: number; sha256: string };
  /** Files model.onnx reads as ONNX external data (paths relative to `dir`). */
  externalData: string[];
  /** Removes the temporary folder (and so `dir`). Safe to call more than once. */
  cleanup(): Promise<void>;
}

function formatOf(filename: string): UploadFormat {
  const name = filename.toLowerCase();
  if (name.endsWith('.onnx')) return 'onnx';
  if (name.endsWith('.json')) return 'json';
  if (name.endsWith('.zip')) return 'zip';
  if (name.endsWith('.tar.gz') || name.endsWith('.tgz')) return 'tar.gz';
  if (name.endsWith('.tar')) return 'tar';
  checkExtension(name);
  throw invalid(filename, 'expected a .onnx file, an XGBoost .json model, or a .zip, .tar.gz or .tgz archive of a model folder holding model.onnx (or model.json)');
}

/** Defaults for what is not given; a limit given as undefined keeps its default rather than vanishing. */
export function resolveLimits(overrides: Partial<IntakeLimits> = {}): IntakeLimits {
  const limits = { ...DEFAULT_INTAKE_LIMITS };
  for (const key of Object.keys(limits) as (keyof IntakeLimits)[]) {
    const value = overrides[key];
    if (value === undefined) continue;
    if (typeof value !== 'number' || Number.isNaN(value) || value < 0) throw new Error(`intake limit ${key} must be a number >= 0, not ${String(value)}`);
    limits[key] = value;
  }
  return limits;
}

/** Counts, hashes and keeps the first bytes of the upload while it streams to disk. */
class UploadMeter extends Transform {
  bytes = 0;
  readonly hash = createHash('sha256');
  private readonly headChunks: Buffer[] = [];
  private headLength = 0;
  last: number | undefined;
  constructor(private readonly limit: number, private readonly limitName: string) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.limit) return done(tooLarge(`the upload is larger than the ${formatBytes(this.limit)} ${this.limitName}`));
    this.hash.update(chunk);
    if (this.headLength < HEAD_BYTES && chunk.length > 0) {
      this.headChunks.push(chunk.subarray(0, HEAD_BYTES - this.headLength));
      this.headLength += Math.min(chunk.length, HEAD_BYTES - this.headLength);
    }
    if (chunk.length > 0) this.last = chunk[chunk.length - 1];
    done(null, chunk);
  }
  get head(): Buffer {
    return Buffer.concat(this.headChunks);
  }
  private digest: string | undefined;
  get sha256(): string {
    return (this.digest ??= this.hash.digest('hex'));
  }
}

async function spool(stream: IntakeRequest['stream'], dest: string, meter: UploadMeter): Promise<void> {
  await pipeline(stream, meter, createWriteStream(dest, { flags: 'wx', mode: 0o600 }));
}

function destroyStream(stream: IntakeRequest['stream']): void {
  const s = stream as Partial<Readable>;
  if (typeof s.destroy === 'function' && !s.destroyed) s.destroy();
}

/**
 * Takes one model upload (a .onnx file, or a .zip / .tar.gz of a model folder) into a fresh
 * temporary folder under `tmpRoot`, refusing anything unsafe with a PlinthError whose message
 * names the entry and the rule: INVALID_INPUT (400) for paths, links, special files, pickles and
 * non-ONNX content; PAYLOAD_TOO_LARGE (413) for every size, count and ratio limit.
 * On failure the temporary folder is already removed; on success call `cleanup()` when done.
 * The model is not loaded here: ONNX Runtime's own check (and its reason, 422) is the caller's.
 */
export async function intakeUpload(request: IntakeRequest): Promise<IntakeResult> {
  let limits: IntakeLimits;
  let format: UploadFormat;
  try {
    limits = resolveLimits(request.limits);
    format = formatOf(String(request.filename ?? ''));
  } catch (err) {
    destroyStream(request.stream);
    throw err;
  }
  const tmpRoot = resolve(request.tmpRoot);
  await mkdir(tmpRoot, { recursive: true });
  const work = await mkdtemp(join(tmpRoot, 'intake-'));
  const cleanup = () => rm(work, { recursive: true, force: true });
  try {
    return { ...(await intake(request.stream, format, limits, work)), cleanup };
  } catch (err) {
    destroyStream(request.stream);
    await cleanup();
    throw err;
  }
}

async function intake(stream: IntakeRequest['stream'], format: UploadFormat, limits: IntakeLimits, work: string) {
  const out = join(work, 'model');
  await mkdir(out);
  let files: ExtractedFile[];
  let meter: UploadMeter;

  if (format === 'onnx' || format === 'json') {
    const path = format === 'onnx' ? 'model.onnx' : XGBOOST_MODEL_FILE;
    const [limit, name] = singleFileLimit(limits, format);
    meter = new UploadMeter(limit, name);
    await spool(stream, join(out, path), meter);
    files = [{ path, size: meter.bytes, sha256: meter.sha256, sniffed: sniff(meter.head, meter.last, false, meter.bytes) }];
  } else {
    meter = new UploadMeter(limits.maxUploadBytes, 'upload limit');
    const archive = join(work, 'upload');
    await spool(stream, archive, meter);
    const head = meter.head;
    const x = new Extraction(out, limits, meter.bytes);
    if (format === 'zip') {
      if (!(head[0] === 0x50 && head[1] === 0x4b)) throw invalid('(upload)', 'the file is named .zip but is not a zip archive');
      await extractZip(archive, x);
    } else {
      if (format === 'tar.gz' && !(head[0] === 0x1f && head[1] === 0x8b)) {
        throw invalid('(upload)', 'the file is named .tar.gz/.tgz but is not gzip-compressed');
      }
      await extractTar(archive, format === 'tar.gz', x);
    }
    await rm(archive, { force: true });
    files = x.files;
  }
  const upload = { bytes: meter.bytes, sha256: meter.sha256 };

  const { prefix, dir } = locateModelFolder(files, out);
  const inFolder = files
    .filter((f) => f.path.startsWith(prefix))
    .map((f) => ({ ...f, path: f.path.slice(prefix.length) }));

  for (const f of inFolder) await checkContent(f, join(dir, ...f.path.split('/')), limits);

  let manifest: Manifest | undefined;
  if (inFolder.some((f) => f.path === 'model.yaml')) {
    try {
      manifest = parseManifest(await readFile(join(dir, 'model.yaml'), 'utf8'));
    } catch (err) {
      throw invalid('model.yaml', (err as Error).message);
    }
  }

  let listed: IntakeFile[] = inFolder.map(({ path, size, sha256 }) => ({ path, size, sha256 }));
  let model = listed.find((f) => f.path === 'model.onnx');
  if (!model) ({ files: listed, manifest, model } = await compileXgboostUpload(dir, listed, manifest, limits));

  const externalData = await checkModel(join(dir, 'model.onnx'), listed, format, limits);
  const sorted = listed.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { dir, format, files: sorted, model, manifest, upload, externalData };
}

/** The limit a single-file upload streams against, and its name for the 413 message. */
function singleFileLimit(limits: IntakeLimits, format: 'onnx' | 'json'): [number, string] {
  const candidates: [number, string][] = [[limits.maxUploadBytes, 'upload limit'], [limits.maxFileBytes, 'limit per file']];
  if (format === 'json') candidates.push([limits.maxXgboostJsonBytes, 'limit for XGBoost JSON models']);
  return candidates.reduce((a, b) => (b[0] < a[0] ? b : a));
}

const MODEL_FILES = ['model.onnx', XGBOOST_MODEL_FILE];

/** model.onnx (or an XGBoost model.json) at the archive's root, or inside exactly one top folder holding everything. */
function locateModelFolder(files: ExtractedFile[], out: string): { prefix: string; dir: string } {
  if (files.some((f) => MODEL_FILES.includes(f.path))) return { prefix: '', dir: out };
  const tops = new Set(files.map((f) => (f.path.includes('/') ? f.path.slice(0, f.path.indexOf('/')) : '')));
  const [top] = tops;
  if (tops.size === 1 && top && files.some((f) => MODEL_FILES.some((m) => f.path === `${top}/${m}`))) {
    return { prefix: `${top}/`, dir: join(out, top) };
  }
  const found = files.filter((f) => MODEL_FILES.some((m) => f.path.toLowerCase().endsWith(m))).map((f) => `'${printable(f.path, 120)}'`);
  throw new PlinthError(
    'INVALID_INPUT',
    'upload refused: the archive must hold model.onnx (or an XGBoost model.json) at its root or inside exactly one top folder' +
      (found.length ? ` (found ${found.slice(0, 3).join(', ')})` : ' (it has no model.onnx or model.json)'),
  );
}

const PICKLE_HINT = 'a Python pickle (found by its content)';

/** Refuses files by content: pickles, HDF5 (Keras), zips that hold pickles (PyTorch). */
async function checkContent(file: ExtractedFile, absolute: string, limits: IntakeLimits): Promise<void> {
  if (file.sniffed === 'pickle') throw refusedFormat(file.path, PICKLE_HINT);
  if (file.sniffed === 'compressed-pickle') throw refusedFormat(file.path, 'a compressed Python pickle (a joblib file, found by its content)');
  if (file.sniffed === 'npy-object') throw refusedFormat(file.path, 'a NumPy array of Python objects, stored as pickles (found by its content)');
  if (file.sniffed === 'hdf5') throw refusedFormat(file.path, 'an HDF5 file (Keras .h5, found by its content)');
  if (file.sniffed === 'zip') {
    const inside = await refusedMemberOfZip(absolute, limits.maxEntries);
    if (inside) throw refusedFormat(file.path, `a zip archive holding '${printable(inside, 120)}' (a PyTorch or Keras save file)`);
  }
}

/** The first member of a nested zip whose name is a refused format (torch.save writes '<name>/data.pkl'). */
async function refusedMemberOfZip(path: string, maxEntries: number): Promise<string | undefined> {
  let zip: yauzl.ZipFile;
  try {
    zip = await yauzl.openPromise(path, { lazyEntries: true, autoClose: false, decodeStrings: false });
  } catch {
    return undefined; // not a readable zip: just bytes, judged by the other rules
  }
  try {
    let seen = 0;
    for await (const entry of zip.eachEntry()) {
      if (++seen > maxEntries) return undefined;
      const name = yauzl.getFileNameLowLevel(entry.generalPurposeBitFlag, entry.fileNameRaw, entry.extraFields, true);
      if (hasRefusedExtension(name)) return name;
    }
  } catch {
    return undefined;
  } finally {
    zip.close();
  }
  return undefined;
}

/** model.onnx must be an ONNX protobuf whose external data stays inside the model folder. */
async function checkModel(modelPath: string, files: readonly IntakeFile[], format: UploadFormat, limits: IntakeLimits): Promise<string[]> {
  const handle = await open(modelPath, 'r');
  let head: Buffer;
  try {
    const buf = Buffer.alloc(HEAD_BYTES);
    const { bytesRead } = await handle.read(buf, 0, HEAD_BYTES, 0);
    head = buf.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
  const kind = sniff(head, undefined, true);
  if (kind === 'pickle') throw refusedFormat('model.onnx', PICKLE_HINT);
  if (kind === 'zip') throw invalid('model.onnx', 'it is a zip archive, not an ONNX model (a PyTorch or Keras save file?). Export the model with torch.onnx.export, skl2onnx or tf2onnx');
  const size = (await stat(modelPath)).size;
  if (size === 0) throw invalid('model.onnx', 'the file is empty');

  let inspection;
  try {
    inspection = inspectOnnx(await readFile(modelPath));
  } catch (err) {
    throw invalid('model.onnx', `it is not an ONNX model (the ModelProto protobuf could not be read: ${printable((err as Error).message, 120)})`);
  }

  const present = new Set(files.map((f) => f.path));
  const locations = new Set<string>();
  for (const ref of inspection.externalData) {
    const tensor = `tensor '${printable(ref.tensor, 80)}'`;
    if (ref.location === undefined) throw invalid('model.onnx', `${tensor} is stored as external data but names no location`);
    const raw = ref.location;
    const location = normalizeEntryPath(raw, limits, 'external data location', (rule) =>
      invalid('model.onnx', `${tensor} keeps its data in '${printable(raw, 120)}': ${rule}`),
    );
    if (format === 'onnx') {
      throw invalid('model.onnx', `${tensor} keeps its data in the external file '${printable(raw, 120)}'; upload a .zip or .tar.gz of the model folder with its data files`);
    }
    if (!present.has(location)) {
      throw invalid('model.onnx', `${tensor} keeps its data in '${printable(raw, 120)}', which is not in the upload`);
    }
    locations.add(location);
  }
  return [...locations].sort();
}
