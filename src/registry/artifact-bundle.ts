import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { PlinthError, printable } from '../core/errors.js';
import type { BlobStorePort } from '../storage/ports.js';
import type { IntakeFile } from './model-intake.service.js';

/**
 * A version's files in the blob store, content-addressed:
 *
 *   models/<modelId>/<bundle digest>/<file sha256>   one blob per distinct file
 *   models/<modelId>/<bundle digest>/index.json      { format: 1, files: [{ path, size, sha256 }] }
 *
 * The bundle digest is the SHA-256 of the sorted (path, sha256) list, so the same files always
 * land under the same keys and a retried upload rewrites identical bytes. Files are named by
 * digest rather than by their upload path: upload paths may hold characters blob keys refuse,
 * and the index maps them back. The version row's blobKey is the index's key; the index is
 * written last, so an index that exists always lists blobs that exist.
 */
export const BUNDLE_FORMAT = 1;
const INDEX_MAX_BYTES = 4 * 1024 * 1024;

export interface BundleFile {
  /** Relative to the model folder, '/'-separated (model.onnx, model.yaml, assets/vocab.json). */
  path: string;
  size: number;
  sha256: string;
}

export interface BundleIndex {
  format: typeof BUNDLE_FORMAT;
  files: BundleFile[];
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const HEX64 = /^[0-9a-f]{64}$/;

export function bundleDigest(files: readonly BundleFile[]): string {
  const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return sha256(JSON.stringify(sorted.map((f) => [f.path, f.sha256])));
}

const prefixOf = (indexKey: string) => indexKey.slice(0, indexKey.lastIndexOf('/'));
const fileKey = (indexKey: string, digest: string) => `${prefixOf(indexKey)}/${digest}`;

/**
 * Puts every file of the intake folder, then the index; returns the index key. A blob already
 * present is not written again (same key, same bytes). Throws if a file's bytes no longer match
 * the digest the intake recorded.
 */
export async function storeBundle(blobs: BlobStorePort, modelId: string, dir: string, files: readonly IntakeFile[]): Promise<{ key: string; index: BundleIndex }> {
  const list = files.map(({ path, size, sha256: digest }) => ({ path, size, sha256: digest }));
  const indexKey = `models/${modelId}/${bundleDigest(list)}/index.json`;
  const index: BundleIndex = { format: BUNDLE_FORMAT, files: list };
  if (await blobs.exists(indexKey)) return { key: indexKey, index };
  const written = new Set<string>();
  for (const file of list) {
    if (written.has(file.sha256)) continue;
    const key = fileKey(indexKey, file.sha256);
    const info = await blobs.put(key, createReadStream(join(dir, ...file.path.split('/'))));
    if (info.sha256 !== file.sha256 || info.size !== file.size) {
      await blobs.delete(key).catch(() => undefined);
      throw new Error(`artifact '${file.path}' changed while it was stored (expected ${file.sha256}, wrote ${info.sha256})`);
    }
    written.add(file.sha256);
  }
  await blobs.put(indexKey, Readable.from([Buffer.from(JSON.stringify(index))]));
  return { key: indexKey, index };
}

async function readAll(stream: Readable, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) {
      stream.destroy();
      throw new Error(`bundle index is larger than ${max} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** The index under the key, checked; a damaged index is an internal error, not the caller's. */
export async function readBundleIndex(blobs: BlobStorePort, indexKey: string): Promise<BundleIndex> {
  const text = (await readAll(await blobs.get(indexKey), INDEX_MAX_BYTES)).toString('utf8');
  const index = JSON.parse(text) as BundleIndex;
  const ok =
    index?.format === BUNDLE_FORMAT &&
    Array.isArray(index.files) &&
    index.files.every((f) => typeof f?.path === 'string' && Number.isSafeInteger(f.size) && typeof f.sha256 === 'string' && HEX64.test(f.sha256));
  if (!ok) throw new Error(`bundle index '${indexKey}' is damaged`);
  return index;
}

/** One file of the bundle as a stream; NOT_FOUND naming the path when the bundle has no such file. */
export async function openBundleFile(blobs: BlobStorePort, indexKey: string, path: string, what: string): Promise<Readable> {
  const index = await readBundleIndex(blobs, indexKey);
  const file = index.files.find((f) => f.path === path);
  if (!file) throw new PlinthError('NOT_FOUND', `${what} has no artifact '${printable(path, 120)}'`);
  return blobs.get(fileKey(indexKey, file.sha256));
}

/**
 * Removes the bundle's blobs; the index goes last, so an interrupted delete can be run again.
 * A missing index means there is nothing (left) to delete.
 */
export async function deleteBundle(blobs: BlobStorePort, indexKey: string): Promise<void> {
  if (!(await blobs.exists(indexKey))) return;
  const index = await readBundleIndex(blobs, indexKey);
  for (const digest of new Set(index.files.map((f) => f.sha256))) await blobs.delete(fileKey(indexKey, digest));
  await blobs.delete(indexKey);
}
