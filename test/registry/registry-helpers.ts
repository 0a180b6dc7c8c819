import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer as streamToBuffer } from 'node:stream/consumers';
import type { Kysely } from 'kysely';
import { create as createTar } from 'tar';
import yazl from 'yazl';
import { OnnxRuntime } from '../../src/runtime/onnx/onnx.runtime.js';
import { ModelRegistryService } from '../../src/registry/model-registry.service.js';
import type { ModelRegistryOptions } from '../../src/registry/registry.types.js';
import type { ModelValidator } from '../../src/registry/version-validator.js';
import { LocalFolderBlobStore } from '../../src/storage/blob/local-folder.blob-store.js';
import type { RegistryRepositories } from '../../src/storage/ports.js';
import { openDatabase } from '../../src/storage/sql/database.js';
import type { Database } from '../../src/storage/sql/schema.js';
import { createSqlRepositories } from '../../src/storage/sql/sql-repositories.js';

/** The validator the app will use: ONNX Runtime loads the file once, then the session is released. */
export const onnxValidator: ModelValidator = async (modelFile) => {
  const runtime = await OnnxRuntime.load(await readFile(modelFile), { intraOpThreads: 1 });
  try {
    return { signature: runtime.signature, graphLabels: runtime.graphLabels };
  } finally {
    await runtime.dispose();
  }
};

/** A registry over a real SQLite file and a real blob folder in a fresh temp dir. */
export interface RegistryWorld {
  dir: string;
  blobRoot: string;
  tmpRoot: string;
  db: Kysely<Database>;
  repos: RegistryRepositories;
  registry: ModelRegistryService;
  /** Closes the database and opens everything again from disk, as a restart would. */
  restart(): Promise<void>;
  /** Blob files (without the store's .tmp folder), relative, sorted. */
  blobFiles(): Promise<string[]>;
  /** What is left under the intake's tmpRoot. */
  tmpEntries(): Promise<string[]>;
  dispose(): Promise<void>;
}

export async function registryWorld(options: Partial<ModelRegistryOptions> = {}, validator: ModelValidator = onnxValidator): Promise<RegistryWorld> {
  const dir = await mkdtemp(join(tmpdir(), 'plinth-registry-svc-'));
  const blobRoot = join(dir, 'blobs');
  const tmpRoot = join(dir, 'tmp');
  await mkdir(tmpRoot, { recursive: true });
  const open = async () => {
    const db = await openDatabase(join(dir, 'registry.db'));
    const repos = createSqlRepositories(db);
    const blobs = await LocalFolderBlobStore.open(blobRoot);
    const registry = new ModelRegistryService(repos, blobs, validator, { tmpRoot, ...options });
    await registry.ensureDefaultSpace();
    return { db, repos, registry };
  };
  const world = { dir, blobRoot, tmpRoot, ...(await open()) } as RegistryWorld;
  world.restart = async () => {
    await world.db.destroy();
    Object.assign(world, await open());
  };
  world.blobFiles = async () => {
    const entries = (await readdir(blobRoot, { recursive: true, withFileTypes: true })) as unknown as { name: string; parentPath: string; isFile(): boolean }[];
    return entries
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name).slice(blobRoot.length + 1))
      .filter((p) => !p.startsWith('.tmp'))
      .sort();
  };
  world.tmpEntries = async () => (await readdir(tmpRoot)).sort();
  world.dispose = async () => {
    await world.db.destroy().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  };
  return world;
}

/** A validator that holds every call until `count` have arrived, so they all continue at once. */
export function barrierValidator(count: number, inner: ModelValidator = onnxValidator): ModelValidator {
  let arrived = 0;
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  return async (modelFile) => {
    const result = await inner(modelFile);
    if (++arrived === count) release();
    await gate;
    return result;
  };
}

export const streamOf = (bytes: Buffer) => Readable.from([bytes]);

export async function zipOf(files: Record<string, Buffer>): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const [name, data] of Object.entries(files)) zip.addBuffer(data, name);
  zip.end();
  return streamToBuffer(zip.outputStream);
}

/** A .tar.gz made by node-tar from a real folder holding the files. */
export async function tarGzOf(files: Record<string, Buffer>): Promise<Buffer> {
  const src = await mkdtemp(join(tmpdir(), 'plinth-tarsrc-'));
  try {
    for (const [name, data] of Object.entries(files)) {
      await mkdir(join(src, name, '..'), { recursive: true });
      await writeFile(join(src, name), data);
    }
    return await streamToBuffer(createTar({ gzip: true, cwd: src, portable: true }, ['.']) as unknown as Readable);
  } finally {
    await rm(src, { recursive: true, force: true });
  }
}

export async function readAll(stream: AsyncIterable<Buffer | Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}
