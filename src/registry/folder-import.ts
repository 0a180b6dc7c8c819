import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rm, stat, symlink } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { create as createTar } from 'tar';

/** A model on local disk presented as an upload, so it passes through the same intake checks. */
export interface LocalUpload {
  /** The model.onnx whose digest makes the import idempotent. */
  modelFile: string;
  filename: string;
  stream: Readable;
  /** Removes any staging folder. */
  cleanup(): Promise<void>;
}

export async function fileSha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * A version folder (model.onnx, model.yaml, other artifacts) becomes an uncompressed tar made on
 * the fly; symbolic links inside it are archived as links, which the intake refuses, so nothing
 * outside the folder is imported. A single `<name>.onnx` with a sidecar `<name>.yaml` becomes a
 * two-entry tar built from a staging folder (under tmpRoot) of links to exactly those two files;
 * without a sidecar the .onnx file is streamed as is.
 */
export async function localUpload(path: string, manifestFile: string | undefined, tmpRoot: string): Promise<LocalUpload> {
  const source = resolve(path);
  const info = await stat(source);
  if (info.isDirectory()) {
    return {
      modelFile: join(source, 'model.onnx'),
      filename: `${basename(source)}.tar`,
      stream: createTar({ cwd: source, portable: true, follow: false }, ['.']) as unknown as Readable,
      cleanup: async () => undefined,
    };
  }
  if (manifestFile === undefined) {
    return { modelFile: source, filename: 'model.onnx', stream: createReadStream(source), cleanup: async () => undefined };
  }
  await mkdir(tmpRoot, { recursive: true });
  const staging = await mkdtemp(join(resolve(tmpRoot), 'import-'));
  try {
    await symlink(source, join(staging, 'model.onnx'));
    await symlink(resolve(manifestFile), join(staging, 'model.yaml'));
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    throw err;
  }
  return {
    modelFile: source,
    filename: 'model.tar',
    // follow: the two links are ours and archive the files they point at.
    stream: createTar({ cwd: staging, portable: true, follow: true }, ['model.onnx', 'model.yaml']) as unknown as Readable,
    cleanup: () => rm(staging, { recursive: true, force: true }),
  };
}
