import { createHash, randomUUID } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { PlinthError, printable } from '../../core/errors.js';
import type { BlobInfo, BlobStorePort } from '../ports.js';
import { assertBlobKey } from './blob-key.js';

const TEMP_DIR = '.tmp';
/** Temp files older than this at open() are leftovers of a crashed process, not a put in flight. */
const STALE_TEMP_MS = 60 * 60 * 1000;

/** FileHandle.write may write less than asked; loop until the whole chunk is down. */
async function writeFully(file: FileHandle, chunk: Uint8Array): Promise<void> {
  for (let offset = 0; offset < chunk.byteLength; ) {
    const { bytesWritten } = await file.write(chunk, offset, chunk.byteLength - offset);
    offset += bytesWritten;
  }
}

const isMissing = (err: unknown) => (err as NodeJS.ErrnoException)?.code === 'ENOENT';

/**
 * Blobs as files under a root folder: key 'models/ab/cd' is <root>/models/ab/cd.
 * A put streams into <root>/.tmp/<uuid> while hashing, fsyncs, then renames into place; rename
 * is atomic within one file system, so a reader or a crash sees the old blob or the whole new
 * one, never a part. .tmp lives under the root so the rename never crosses file systems.
 */
export class LocalFolderBlobStore implements BlobStorePort {
  readonly location: string;
  private readonly tempDir: string;

  private constructor(root: string) {
    this.location = resolve(root);
    this.tempDir = join(this.location, TEMP_DIR);
  }

  /** Creates the folder if needed and removes temp files a crashed process left behind. */
  static async open(root: string): Promise<LocalFolderBlobStore> {
    const store = new LocalFolderBlobStore(root);
    await mkdir(store.tempDir, { recursive: true });
    const now = Date.now();
    for (const name of await readdir(store.tempDir)) {
      const path = join(store.tempDir, name);
      const info = await stat(path).catch(() => undefined);
      if (info && now - info.mtimeMs > STALE_TEMP_MS) await rm(path, { force: true, recursive: true });
    }
    return store;
  }

  async put(key: string, body: AsyncIterable<Uint8Array>): Promise<BlobInfo> {
    const target = this.pathOf(key);
    // Start reading at once, before any await: a stream that errors while the temp file is being
    // opened (a client hanging up) then rejects this read instead of crashing on an unheard 'error'.
    const source = body[Symbol.asyncIterator]();
    let next = source.next();
    next.catch(() => undefined);
    const temp = join(this.tempDir, `${randomUUID()}.part`);
    const hash = createHash('sha256');
    let size = 0;
    let file: FileHandle | undefined;
    try {
      await mkdir(this.tempDir, { recursive: true });
      file = await open(temp, 'wx');
      // One awaited write per chunk: the source is read no faster than the disk takes it.
      for (let item = await next; !item.done; item = await next) {
        const chunk = item.value;
        hash.update(chunk);
        size += chunk.byteLength;
        await writeFully(file, chunk);
        next = source.next();
      }
      // Flushed before the rename: otherwise a power cut could leave the new name on empty data.
      await file.sync();
      await file.close();
      file = undefined;
      await mkdir(dirname(target), { recursive: true });
      await rename(temp, target);
    } catch (err) {
      // Stops (and for a Readable, destroys) the source if the failure was ours, not its.
      await source.return?.().catch(() => undefined);
      await file?.close().catch(() => undefined);
      await unlink(temp).catch(() => undefined);
      throw err;
    }
    return { size, sha256: hash.digest('hex') };
  }

  async get(key: string): Promise<Readable> {
    const path = this.pathOf(key);
    // Open first, then stream from the handle: no window between an existence check and the read.
    const file = await open(path, 'r').catch((err: unknown) => {
      if (isMissing(err) || (err as NodeJS.ErrnoException)?.code === 'EISDIR') throw this.missing(key);
      throw err;
    });
    if (!(await file.stat()).isFile()) {
      await file.close();
      throw this.missing(key);
    }
    return file.createReadStream();
  }

  async exists(key: string): Promise<boolean> {
    return stat(this.pathOf(key)).then((s) => s.isFile(), () => false);
  }

  async delete(key: string): Promise<boolean> {
    try {
      await unlink(this.pathOf(key));
      return true;
    } catch (err) {
      if (isMissing(err)) return false;
      throw err;
    }
  }

  private pathOf(key: string): string {
    assertBlobKey(key);
    const path = join(this.location, ...key.split('/'));
    // The key rules already keep paths inside the root; this is the belt to those braces.
    if (!path.startsWith(this.location + sep)) throw new PlinthError('INVALID_INPUT', `blob key '${printable(key, 60)}' leaves the store`);
    return path;
  }

  private missing(key: string): PlinthError {
    return new PlinthError('NOT_FOUND', `blob '${printable(key, 60)}' does not exist`);
  }
}
