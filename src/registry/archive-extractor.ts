import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';
import yauzl from 'yauzl';
import { PlinthError, printable } from '../core/errors.js';
import {
  HEAD_BYTES, PathClaims, checkExtension, formatBytes, invalid, isJunk, normalizeEntryPath, sniff, tooLarge,
  type IntakeLimits, type Sniffed,
} from './artifact-policy.js';

/** One file written by the intake; `path` is relative to the extraction folder, '/'-separated. */
export interface ExtractedFile {
  path: string;
  size: number;
  sha256: string;
  /** What the file's content looks like, for the content policy applied after extraction. */
  sniffed: Sniffed;
}

const malformed = (kind: string, err: unknown) =>
  err instanceof PlinthError ? err : new PlinthError('INVALID_INPUT', `upload refused: the ${kind} archive is malformed: ${printable((err as Error).message ?? String(err), 200)}`);

/**
 * Bookkeeping shared by the zip and tar readers: entry count, byte budget, path claims, and the
 * one place files are created (exclusively, under `outDir`, never through a link: the intake
 * never creates links, so no path component can redirect a write).
 */
export class Extraction {
  readonly files: ExtractedFile[] = [];
  private readonly claims = new PathClaims();
  private entries = 0;
  private extracted = 0;

  constructor(
    readonly outDir: string,
    readonly limits: IntakeLimits,
    /** Bytes of the upload as received, the denominator of the compression ratio. */
    readonly compressedBytes: number,
  ) {}

  /** Counts an entry of any kind against maxEntries. */
  countEntry(): void {
    if (++this.entries > this.limits.maxEntries) {
      throw tooLarge(`the archive has more than ${this.limits.maxEntries} entries`);
    }
  }

  /** Validates a file entry's name; returns its normalized path, or undefined for skipped clutter. */
  admitFile(raw: string, declaredSize: number | undefined): string | undefined {
    const path = normalizeEntryPath(raw, this.limits);
    if (isJunk(path)) return undefined;
    checkExtension(path);
    if (declaredSize !== undefined) this.checkFileSize(raw, declaredSize);
    this.claims.claimFile(path, raw);
    return path;
  }

  /** Validates a folder entry's name (folders are not created; files' parents are). */
  admitDir(raw: string): void {
    if (/^\.(\/+\.)*\/*$/.test(raw)) return; // './', the archive's own root (tar -C dir .)
    const path = normalizeEntryPath(raw, this.limits);
    if (!isJunk(path)) this.claims.claimDir(path, raw);
  }

  checkFileSize(raw: string, size: number): void {
    if (size > this.limits.maxFileBytes) {
      throw tooLarge(`entry '${printable(raw, 120)}' is larger than the ${formatBytes(this.limits.maxFileBytes)} limit per file`);
    }
  }

  /** Throws when the extracted total or the overall ratio goes past its limit. */
  private addExtracted(raw: string, n: number): void {
    this.extracted += n;
    const { maxExtractedBytes } = this.limits;
    if (this.extracted > maxExtractedBytes) {
      throw tooLarge(`extracting entry '${printable(raw, 120)}' takes the archive past the ${formatBytes(maxExtractedBytes)} limit on extracted bytes`);
    }
    checkRatio(raw, this.extracted, this.compressedBytes, this.limits, 'the archive');
  }

  /** Streams one entry into outDir/path, hashing and counting as it goes. */
  async write(path: string, raw: string, source: AsyncIterable<Buffer>, readError: (err: unknown) => Error): Promise<ExtractedFile> {
    const dest = join(this.outDir, ...path.split('/'));
    if (!dest.startsWith(this.outDir + sep)) throw invalid(raw, 'the path leaves the model folder'); // unreachable after normalizeEntryPath
    await mkdir(dirname(dest), { recursive: true });
    const file = await open(dest, 'wx', 0o600);
    const hash = createHash('sha256');
    const head: Buffer[] = [];
    let headLength = 0;
    let size = 0;
    let last: number | undefined;
    try {
      const iterator = source[Symbol.asyncIterator]();
      for (;;) {
        let next: IteratorResult<Buffer>;
        try {
          next = await iterator.next();
        } catch (err) {
          throw readError(err);
        }
        if (next.done) break;
        const chunk = next.value;
        if (chunk.length === 0) continue;
        size += chunk.length;
        this.checkFileSize(raw, size);
        this.addExtracted(raw, chunk.length);
        hash.update(chunk);
        if (headLength < HEAD_BYTES) {
          head.push(chunk.subarray(0, HEAD_BYTES - headLength));
          headLength += Math.min(chunk.length, HEAD_BYTES - headLength);
        }
        last = chunk[chunk.length - 1];
        await file.write(chunk);
      }
    } finally {
      await file.close();
    }
    const record = { path, size, sha256: hash.digest('hex'), sniffed: sniff(Buffer.concat(head), last, false, size) };
    this.files.push(record);
    return record;
  }
}

export function checkRatio(raw: string, extracted: number, compressed: number, limits: IntakeLimits, scope: string): void {
  if (extracted <= limits.ratioCheckAboveBytes) return;
  if (extracted > limits.maxCompressionRatio * Math.max(compressed, 1)) {
    throw tooLarge(
      `entry '${printable(raw, 120)}': ${scope} expands more than ${limits.maxCompressionRatio}:1 ` +
        `(${formatBytes(extracted)} from ${formatBytes(compressed)} compressed), which looks like a zip bomb`,
    );
  }
}

// Unix file types in a zip entry's external attributes (high 16 bits) and in tar headers.
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
/** MS-DOS attributes in the low byte of the external attributes. */
const DOS_DIRECTORY = 0x10;
const DOS_REPARSE_POINT = 0x400;

/** Extracts a zip file already spooled to disk. */
export async function extractZip(zipPath: string, x: Extraction): Promise<void> {
  let zip: yauzl.ZipFile;
  try {
    // decodeStrings: false so that yauzl neither rewrites backslashes nor refuses names itself:
    // every name goes through normalizeEntryPath, whose messages name the entry and the rule.
    zip = await yauzl.openPromise(zipPath, { lazyEntries: true, autoClose: false, decodeStrings: false, validateEntrySizes: true, strictFileNames: true });
  } catch (err) {
    throw malformed('zip', err);
  }
  try {
    if (zip.entryCount > x.limits.maxEntries) throw tooLarge(`the archive has ${zip.entryCount} entries, more than ${x.limits.maxEntries}`);
    const localHeaders = new Set<number>();
    let declaredTotal = 0;
    const entries = zip.eachEntry();
    for (;;) {
      let next: IteratorResult<yauzl.Entry>;
      try {
        next = await entries.next();
      } catch (err) {
        throw malformed('zip', err);
      }
      if (next.done) break;
      const entry = next.value;
      x.countEntry();
      const raw = yauzl.getFileNameLowLevel(entry.generalPurposeBitFlag, entry.fileNameRaw, entry.extraFields, true);
      const mode = entry.externalFileAttributes >>> 16;
      const type = mode & S_IFMT;
      const dosAttributes = entry.externalFileAttributes & 0xffff;
      if (type === S_IFLNK) throw invalid(raw, 'symbolic links are not allowed in uploads');
      if (type !== 0 && type !== S_IFREG && type !== S_IFDIR) {
        throw invalid(raw, 'device files, FIFOs and sockets are not allowed in uploads');
      }
      if (dosAttributes & DOS_REPARSE_POINT) throw invalid(raw, 'links (Windows reparse points) are not allowed in uploads');
      if (raw.endsWith('/') || type === S_IFDIR || (type === 0 && dosAttributes & DOS_DIRECTORY)) {
        x.admitDir(raw);
        continue;
      }
      const path = x.admitFile(raw, entry.uncompressedSize);
      if (path === undefined) continue;
      if (entry.isEncrypted()) throw invalid(raw, 'encrypted entries are not supported');
      if (entry.compressionMethod !== 0 && entry.compressionMethod !== 8) {
        throw invalid(raw, `compression method ${entry.compressionMethod} is not supported (use deflate or store)`);
      }
      if (localHeaders.has(entry.relativeOffsetOfLocalHeader)) {
        throw invalid(raw, 'the entry shares its data with another entry (overlapping entries are a zip bomb technique)');
      }
      localHeaders.add(entry.relativeOffsetOfLocalHeader);
      // Refuse on the declared sizes before inflating anything; yauzl's validateEntrySizes then
      // makes sure the data does not inflate past what was declared.
      declaredTotal += entry.uncompressedSize;
      if (declaredTotal > x.limits.maxExtractedBytes) {
        throw tooLarge(`extracting entry '${printable(raw, 120)}' takes the archive past the ${formatBytes(x.limits.maxExtractedBytes)} limit on extracted bytes`);
      }
      checkRatio(raw, entry.uncompressedSize, entry.compressedSize, x.limits, 'the entry');
      let stream;
      try {
        stream = await zip.openReadStreamPromise(entry);
      } catch (err) {
        throw malformed('zip', err);
      }
      // yauzl pushes into the stream before write() starts iterating it; without a listener now, a
      // size-validation error in between would be an uncaught 'error' event. The iterator still
      // sees the error (the stream is left errored) and write() turns it into a 400.
      stream.on('error', () => {});
      try {
        await x.write(path, raw, stream, (err) => malformed('zip', err));
      } finally {
        stream.destroy();
      }
    }
  } finally {
    zip.close();
  }
}

/**
 * Counts the decompressed tar stream: total bytes (files plus headers and padding, so trailing
 * padding cannot be used to make the server inflate forever) and the overall ratio.
 */
class TarStreamMeter extends Transform {
  private seen = 0;
  constructor(private readonly x: Extraction, private readonly gzipped: boolean) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    if (this.seen === 0 && chunk.length >= 2 && chunk[0] === 0x1f && chunk[1] === 0x8b) {
      return done(invalid('(archive)', 'the tar stream is itself gzip-compressed; compress once'));
    }
    this.seen += chunk.length;
    const { limits } = this.x;
    const ceiling = limits.maxExtractedBytes + limits.maxEntries * 2048 + 1024 * 1024;
    if (this.seen > ceiling) return done(tooLarge(`the decompressed archive is larger than the ${formatBytes(limits.maxExtractedBytes)} limit on extracted bytes`));
    try {
      if (this.gzipped) checkRatio('(archive)', this.seen, this.x.compressedBytes, limits, 'the archive');
    } catch (err) {
      return done(err as Error);
    }
    done(null, chunk);
  }
}

const TAR_FILE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile']);

/**
 * `p`, or the failure if the extraction fails first. Unlike Promise.race against one long-lived
 * promise, which keeps a reaction (and so every settled value: each chunk of every entry) until
 * that promise settles, the failure listener is removed as soon as `p` settles: memory stays
 * bounded by the chunks in flight, whatever the archive's size.
 */
function unlessFailed<T>(p: Promise<T>, failed: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (failed.aborted) return reject(failed.reason as Error);
    const onFail = () => reject(failed.reason as Error);
    failed.addEventListener('abort', onFail, { once: true });
    p.then(
      (value) => {
        failed.removeEventListener('abort', onFail);
        resolve(value);
      },
      (err: unknown) => {
        failed.removeEventListener('abort', onFail);
        reject(err as Error);
      },
    );
  });
}

/** Extracts a tar (gzipped or not) already spooled to disk, one entry at a time, with backpressure. */
export async function extractTar(tarPath: string, gzipped: boolean, x: Extraction): Promise<void> {
  const parser = new Parser({ strict: true, noResume: true, zstd: false, brotli: false, maxMetaEntrySize: 64 * 1024 });
  const queue: ReadEntry[] = [];
  let ended = false;
  let wake: (() => void) | undefined;
  const failure = new AbortController();
  const fail = (err: Error) => {
    if (!failure.signal.aborted) failure.abort(err);
  };
  parser.on('entry', (entry: ReadEntry) => {
    queue.push(entry);
    wake?.();
  });
  parser.on('end', () => {
    ended = true;
    wake?.();
  });
  parser.on('error', (err: Error) => fail(malformed('tar', err)));

  const input = createReadStream(tarPath);
  const stages: NodeJS.ReadWriteStream[] = gzipped ? [createGunzip(), new TarStreamMeter(x, true)] : [new TarStreamMeter(x, false)];
  let stopped = false;
  /** Any await inside the loop also ends when the input side fails, so nothing waits forever. */
  const guard = <T>(p: Promise<T>) => unlessFailed(p, failure.signal);
  const feeding = (async () => {
    await pipeline(input, ...(stages as [Transform]), async (source: AsyncIterable<Buffer>) => {
      for await (const chunk of source) {
        if (stopped) return;
        if (!parser.write(chunk)) await guard(new Promise((r) => parser.once('drain', r)));
      }
      parser.end();
    });
  })().catch((err: unknown) => fail(err instanceof PlinthError ? err : malformed(gzipped ? 'tar.gz' : 'tar', err)));

  async function* data(entry: ReadEntry): AsyncGenerator<Buffer> {
    const it = (entry as unknown as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
    for (;;) {
      const next = await guard(it.next());
      if (next.done) return;
      yield next.value;
    }
  }

  try {
    for (;;) {
      if (queue.length === 0) {
        if (ended) break;
        await guard(new Promise<void>((r) => (wake = r)));
        wake = undefined;
        continue;
      }
      const entry = queue.shift()!;
      x.countEntry();
      const raw = entry.path;
      switch (entry.type) {
        case 'SymbolicLink':
          throw invalid(raw, `symbolic links are not allowed in uploads (it points to '${printable(entry.linkpath ?? '', 120)}')`);
        case 'Link':
          throw invalid(raw, `hard links are not allowed in uploads (it links to '${printable(entry.linkpath ?? '', 120)}')`);
        case 'CharacterDevice':
        case 'BlockDevice':
        case 'FIFO':
          throw invalid(raw, 'device files, FIFOs and sockets are not allowed in uploads');
        case 'Directory':
          x.admitDir(raw);
          entry.resume();
          continue;
        default:
          if (!TAR_FILE_TYPES.has(entry.type)) throw invalid(raw, `tar entries of type ${entry.type} are not supported`);
      }
      const path = x.admitFile(raw, entry.size);
      if (path === undefined) {
        entry.resume();
        continue;
      }
      await x.write(path, raw, data(entry), (err) => (err instanceof PlinthError ? err : malformed('tar', err)));
    }
    await guard(feeding);
  } catch (err) {
    stopped = true;
    fail(err as Error); // releases a feeder waiting for 'drain'
    input.destroy();
    throw err;
  } finally {
    await feeding; // the pipeline has settled (it never rejects: errors go to fail)
  }
}
