import type { Readable } from 'node:stream';
import { LocalFolderBlobStore } from '../storage/blob/local-folder.blob-store.js';
import type { BlobStorePort } from '../storage/ports.js';

/**
 * Where a job keeps its chunk outputs until the job completes. Part i holds the output lines of
 * chunk i (`.out`) and its error lines (`.err`, only when it has some). A part is stored before
 * its chunk is committed, so after a crash every committed chunk has its part, and an uncommitted
 * one is simply written again by the next attempt (a put replaces). The output asset is written
 * from the committed parts while the job runs (FollowingParts); the errors file is concatenated at
 * the end.
 */
export const jobPrefix = (jobId: string) => `jobs/${jobId}`;
export const partKey = (jobId: string, index: number, kind: 'out' | 'err') => `${jobPrefix(jobId)}/parts/${String(index).padStart(7, '0')}.${kind}`;
export const errorsKey = (jobId: string) => `${jobPrefix(jobId)}/errors.csv`;
export const inlineInputKey = (jobId: string) => `${jobPrefix(jobId)}/input.ndjson`;

async function* once(text: string): AsyncIterable<Uint8Array> {
  if (text.length) yield Buffer.from(text, 'utf8');
}

export function putText(blobs: BlobStorePort, key: string, text: string) {
  return blobs.put(key, once(text));
}

async function* onceBytes(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  if (bytes.byteLength) yield bytes;
}

export function putBytes(blobs: BlobStorePort, key: string, bytes: Uint8Array) {
  return blobs.put(key, onceBytes(bytes));
}

/**
 * The root folder under which a worker thread can open the same blob store itself (a local
 * folder store: its location is its root), or undefined when the store is of another kind.
 */
export function workerBlobRoot(blobs: BlobStorePort): string | undefined {
  return blobs instanceof LocalFolderBlobStore ? blobs.location : undefined;
}

/** One part's bytes; undefined when it does not exist. */
async function openPart(blobs: BlobStorePort, key: string): Promise<Readable | undefined> {
  try {
    return await blobs.get(key);
  } catch {
    return undefined;
  }
}

/**
 * The output parts of a running job, in order, as one byte stream that follows the job: part i
 * is read once chunk i is committed, so the output asset is written while the job runs instead
 * of being concatenated after it (memory: one read buffer). `commit(n)` says chunks [0, n) are
 * committed, `finish()` that no more will come; `stop(err)` ends the stream with that error
 * (the blob store then drops what it wrote).
 */
export class FollowingParts implements AsyncIterable<Uint8Array> {
  private count: number;
  private finished = false;
  private stopped: Error | undefined;
  private wake: (() => void) | undefined;

  constructor(
    private readonly blobs: BlobStorePort,
    private readonly jobId: string,
    committed: number,
  ) {
    this.count = committed;
  }

  commit(count: number): void {
    this.count = count;
    this.signal();
  }

  finish(): void {
    this.finished = true;
    this.signal();
  }

  stop(err: Error): void {
    this.stopped ??= err;
    this.signal();
  }

  private signal(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    for (let i = 0; ; i++) {
      while (i >= this.count && !this.finished && !this.stopped) await new Promise<void>((resolve) => (this.wake = resolve));
      if (this.stopped) throw this.stopped;
      if (i >= this.count) return;
      const stream = await openPart(this.blobs, partKey(this.jobId, i, 'out'));
      if (!stream) throw new Error(`part ${i} of job ${this.jobId} is missing`);
      try {
        for await (const chunk of stream) {
          if (this.stopped) throw this.stopped;
          yield chunk as Uint8Array;
        }
      } finally {
        stream.destroy();
      }
    }
  }
}

/** The parts of chunks [0, count) of one kind, in order, as one byte stream (a header first). */
export async function* concatParts(blobs: BlobStorePort, jobId: string, count: number, kind: 'out' | 'err', header = ''): AsyncIterable<Uint8Array> {
  if (header) yield Buffer.from(header, 'utf8');
  for (let i = 0; i < count; i++) {
    const key = partKey(jobId, i, kind);
    let stream: Readable;
    try {
      stream = await blobs.get(key);
    } catch {
      if (kind === 'err') continue; // chunks without errors have no .err part
      throw new Error(`part ${i} of job ${jobId} is missing`);
    }
    for await (const chunk of stream) yield chunk as Uint8Array;
  }
}

/**
 * Removes the parts of chunks [0, upTo) and a few beyond (written but never committed), a few at
 * a time (removing a file can take milliseconds; this leaves room to other file work meanwhile).
 */
export async function deleteParts(blobs: BlobStorePort, jobId: string, upTo: number): Promise<void> {
  let next = 0;
  const total = upTo + 4;
  const worker = async () => {
    for (let i = next++; i < total; i = next++) {
      await blobs.delete(partKey(jobId, i, 'out'));
      await blobs.delete(partKey(jobId, i, 'err'));
    }
  };
  await Promise.all(Array.from({ length: Math.min(4, total) }, worker));
}
