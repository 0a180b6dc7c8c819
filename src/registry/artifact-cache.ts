import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { ModelVersionRow } from '../storage/ports.js';
import type { ModelRegistryService } from './model-registry.service.js';

const COMPLETE = '.complete';
const STAGING = '.tmp-';

export interface ArtifactCacheOptions {
  /** Bound on the cache's size in bytes; 0 = none. Past it the least recently used entries not in use go. */
  maxBytes?: number;
  /** The model files loaded sessions were opened from (and reload from): their entries are never evicted. */
  inUse?: () => Iterable<string>;
  log?: { warn(details: object, message: string): void };
}

interface Entry {
  bytes: number;
  lastUsed: number;
}

const keyOf = (blobKey: string) => createHash('sha256').update(blobKey).digest('hex').slice(0, 32);

/**
 * The serving side's local copy of registry versions: each version's bundle is written once
 * into `<dir>/<digest of its blob key>/` with its original file names, so ONNX Runtime can load
 * model.onnx by path and find external data files beside it. The blob store stays the source of
 * truth (S3 with many replicas: each replica fills its own cache). A copy is built in a temporary
 * folder and renamed into place, so a crash never leaves a half-written copy that looks complete.
 *
 * The cache holds only what the registry still has: a bundle's copy goes when the registry drops
 * the bundle (`evict`), `sweep` removes at start-up what no version points at (and staging
 * folders a crash left), and past `maxBytes` the least recently used copies go, except those
 * that loaded sessions use (and reload from) and those being built; the copy just handed out is
 * the most recently used, so a batch job's worker finds it. A copy that went is made again on
 * demand.
 * Last use survives restarts as the mtime of the entry's `.complete` marker.
 */
export class ArtifactCache {
  private readonly building = new Map<string, Promise<string>>();
  private readonly entries = new Map<string, Entry>();
  private readonly dir: string;

  constructor(
    private readonly registry: ModelRegistryService,
    dir: string,
    private readonly options: ArtifactCacheOptions = {},
  ) {
    this.dir = resolve(dir);
  }

  /** The local path of the version's model.onnx, copying the bundle first if needed. */
  modelFile(version: ModelVersionRow): Promise<string> {
    const key = keyOf(version.blobKey);
    let pending = this.building.get(key);
    if (!pending) {
      pending = this.materialize(version, key).finally(() => this.building.delete(key));
      this.building.set(key, pending);
    }
    return pending;
  }

  /** Bytes held by the complete entries this process knows of. */
  get sizeBytes(): number {
    let total = 0;
    for (const e of this.entries.values()) total += e.bytes;
    return total;
  }

  /** Removes the copy of a bundle the registry dropped (its version was deleted). */
  async evict(blobKey: string): Promise<void> {
    const key = keyOf(blobKey);
    await this.building.get(key)?.catch(() => undefined);
    this.entries.delete(key);
    await rm(join(this.dir, key), { recursive: true, force: true });
  }

  /**
   * Start-up: removes staging folders, incomplete copies, and copies of bundles no version
   * points at any more (`liveBlobKeys`), then applies the size bound to what is left.
   */
  async sweep(liveBlobKeys: Iterable<string>): Promise<void> {
    const live = new Set([...liveBlobKeys].map(keyOf));
    const names = await readdir(this.dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return [] as string[];
      throw err;
    });
    for (const name of names) {
      const marker = await stat(join(this.dir, name, COMPLETE)).catch(() => undefined);
      if (name.startsWith(STAGING) || !live.has(name) || !marker) {
        await rm(join(this.dir, name), { recursive: true, force: true });
        continue;
      }
      this.entries.set(name, { bytes: await folderBytes(join(this.dir, name)), lastUsed: marker.mtimeMs });
    }
    await this.enforceBound();
  }

  private async materialize(version: ModelVersionRow, key: string): Promise<string> {
    const target = join(this.dir, key);
    const modelFile = join(target, 'model.onnx');
    const now = Date.now();
    if (await stat(join(target, COMPLETE)).then(() => true, () => false)) {
      const entry = this.entries.get(key);
      if (entry) entry.lastUsed = now;
      else this.entries.set(key, { bytes: await folderBytes(target), lastUsed: now });
      await utimes(join(target, COMPLETE), now / 1000, now / 1000).catch(() => undefined);
      return modelFile;
    }
    await mkdir(this.dir, { recursive: true });
    const staging = await mkdtemp(join(this.dir, STAGING));
    let bytes = 0;
    try {
      for (const file of await this.registry.listArtifacts(version)) {
        // Paths were checked at intake; check again that none leaves the folder.
        const path = resolve(staging, ...file.path.split('/'));
        if (!path.startsWith(staging + sep)) throw new Error(`artifact path '${file.path}' leaves the model folder`);
        await mkdir(dirname(path), { recursive: true });
        await pipeline(await this.registry.openArtifact(version, file.path), createWriteStream(path));
        bytes += file.size;
      }
      await writeFile(join(staging, COMPLETE), '');
      await rm(target, { recursive: true, force: true });
      await rename(staging, target);
    } catch (err) {
      await rm(staging, { recursive: true, force: true });
      throw err;
    }
    this.entries.set(key, { bytes, lastUsed: now });
    await this.enforceBound();
    return modelFile;
  }

  /** Past maxBytes, removes the least recently used entries that are neither in use nor being built. */
  private async enforceBound(): Promise<void> {
    const max = this.options.maxBytes ?? 0;
    if (max <= 0 || this.sizeBytes <= max) return;
    const used = new Set<string>();
    for (const file of this.options.inUse?.() ?? []) {
      const path = resolve(file);
      if (path.startsWith(this.dir + sep)) used.add(path.slice(this.dir.length + 1).split(sep)[0]!);
    }
    const candidates = [...this.entries].filter(([key]) => !used.has(key) && !this.building.has(key)).sort((a, b) => a[1].lastUsed - b[1].lastUsed);
    for (const [key] of candidates) {
      if (this.sizeBytes <= max) break;
      this.entries.delete(key);
      await rm(join(this.dir, key), { recursive: true, force: true }).catch((err: unknown) => this.options.log?.warn({ err, entry: key }, 'could not remove an artifact cache entry'));
    }
  }
}

async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) total += (await stat(join(entry.parentPath, entry.name))).size;
  }
  return total;
}
