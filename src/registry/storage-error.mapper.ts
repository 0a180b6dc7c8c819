import { modelNotFound, PlinthError, printable, versionNotFound } from '../core/errors.js';
import { RevisionMismatchError } from '../storage/storage.errors.js';

/** What the service was working on, so a repository error can be told in the caller's words. */
export interface StorageContext {
  space?: string;
  model?: string;
  version?: number;
}

/**
 * The one place repository errors become the registry's errors. Repositories speak in ids
 * ("model '3f2a…' does not exist"); callers named things, so those are put back. An If-Match
 * failure is 412 PRECONDITION_FAILED over HTTP, not the repository's 409. Duplicate names and
 * in-use refusals (CONFLICT, 409) already read well and pass through, as does anything unexpected.
 */
export function mapStorageError(err: unknown, context: StorageContext = {}): unknown {
  if (err instanceof RevisionMismatchError) {
    const what = context.model !== undefined ? `model '${printable(context.model)}'` : err.entity;
    return new PlinthError(
      'PRECONDITION_FAILED',
      `${what} is at revision ${err.actual}, not ${err.expected}: it changed since it was read; get it again and retry with its current ETag`,
    );
  }
  if (!(err instanceof PlinthError)) return err;
  if (err.code === 'MODEL_NOT_FOUND' && context.model !== undefined) return modelNotFound(context.model);
  if (err.code === 'VERSION_NOT_FOUND' && context.model !== undefined && context.version !== undefined) {
    return versionNotFound(context.model, String(context.version));
  }
  return err;
}

/** Runs a repository call, mapping what it throws. */
export async function fromStorage<T>(context: StorageContext, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw mapStorageError(err, context);
  }
}
