import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, symlink } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { create as createTar } from 'tar';
import { parseManifest, type Manifest } from '../core/manifest.js';
import { readXgboostModel, XGBOOST_MODEL_FILE, xgboostManifest } from './xgboost-intake.js';

/** A model on local disk presented as an upload, so it passes through the same intake checks. */
export interface LocalUpload {
  /** The model.onnx (or XGBoost model.json) whose digest, as the version's, makes the import idempotent. */
  modelFile: string;
  filename: string;
  stream: Readable;
  /** The manifest the version registers with (what the intake makes of model.yaml), or undefined without one. */
  manifest(): Promise<Manifest | undefined>;
  /** Removes any staging folder. */
  cleanup(): Promise<void>;
}

export async function fileSha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function readIfPresent(file: string): Promise<string | undefined> {
  return readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
}

/** The manifest the intake registers for a local model: model.yaml parsed, and for an XGBoost model.json what compiling it adds. */
function registeredManifest(modelFile: string, manifestFile: string | undefined): () => Promise<Manifest | undefined> {
  return async () => {
    const text = manifestFile === undefined ? undefined : await readIfPresent(manifestFile);
    const manifest = text === undefined ? undefined : parseManifest(text);
    if (!modelFile.endsWith('.json')) return manifest;
    return xgboostManifest(readXgboostModel(await readFile(modelFile, 'utf8'), basename(modelFile)), manifest);
  };
}

/**
 * A version folder (model.onnx or an XGBoost model.json, model.yaml, other artifacts) becomes an
 * uncompressed tar made on the fly; symbolic links inside it are archived as links, which the
 * intake refuses, so nothing outside the folder is imported. A single `<name>.onnx` (or
 * `<name>.json`) with a sidecar `<name>.yaml` becomes a two-entry tar built from a staging folder
 * (under tmpRoot) of links to exactly those two files; without a sidecar the file is streamed as is.
 */
export async function localUpload(path: string, manifestFile: string | undefined, tmpRoot: string): Promise<LocalUpload> {
  const source = resolve(path);
  const info = await stat(source);
  if (info.isDirectory()) {
    const onnx = join(source, 'model.onnx');
    const modelFile = (await stat(onnx).then(() => true, () => false)) ? onnx : join(source, XGBOOST_MODEL_FILE);
    return {
      modelFile,
      filename: `${basename(source)}.tar`,
      stream: createTar({ cwd: source, portable: true, follow: false }, ['.']) as unknown as Readable,
      manifest: registeredManifest(modelFile, join(source, 'model.yaml')),
      cleanup: async () => undefined,
    };
  }
  const modelName = source.endsWith('.json') ? XGBOOST_MODEL_FILE : 'model.onnx';
  const manifest = registeredManifest(source, manifestFile);
  if (manifestFile === undefined) {
    return { modelFile: source, filename: modelName, stream: createReadStream(source), manifest, cleanup: async () => undefined };
  }
  await mkdir(tmpRoot, { recursive: true });
  const staging = await mkdtemp(join(resolve(tmpRoot), 'import-'));
  try {
    await symlink(source, join(staging, modelName));
    await symlink(resolve(manifestFile), join(staging, 'model.yaml'));
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    throw err;
  }
  return {
    modelFile: source,
    filename: 'model.tar',
    // follow: the two links are ours and archive the files they point at.
    stream: createTar({ cwd: staging, portable: true, follow: true }, [modelName, 'model.yaml']) as unknown as Readable,
    manifest,
    cleanup: () => rm(staging, { recursive: true, force: true }),
  };
}
