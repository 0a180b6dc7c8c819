import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { PlinthError } from '../../src/core/errors.js';
import { intakeUpload, type IntakeLimits, type IntakeResult } from '../../src/registry/model-intake.service.js';

/**
 * A sandbox per test: the intake's tmpRoot is <sandbox>/deep/er/tmp, so an escape by '..' of any
 * depth up to four would land in a folder the test can see.
 */
export interface Sandbox {
  root: string;
  tmpRoot: string;
  intake(filename: string, bytes: Buffer | Readable, limits?: Partial<IntakeLimits>): Promise<IntakeResult>;
  /** Asserts a refusal with this code and message, then that nothing is left anywhere. */
  refused(filename: string, bytes: Buffer | Readable, code: PlinthError['code'], message: RegExp, limits?: Partial<IntakeLimits>): Promise<PlinthError>;
  /** Every file and folder under the sandbox, relative, sorted. */
  listing(): Promise<string[]>;
  dispose(): Promise<void>;
}

export async function sandbox(): Promise<Sandbox> {
  const root = await mkdtemp(join(tmpdir(), 'plinth-intake-'));
  const tmpRoot = join(root, 'deep', 'er', 'tmp');
  await mkdir(tmpRoot, { recursive: true });
  const listing = async () => ((await readdir(root, { recursive: true })) as string[]).sort();
  const intake = (filename: string, bytes: Buffer | Readable, limits?: Partial<IntakeLimits>) =>
    intakeUpload({ filename, stream: Buffer.isBuffer(bytes) ? Readable.from([bytes]) : bytes, tmpRoot, limits });
  return {
    root,
    tmpRoot,
    intake,
    listing,
    async refused(filename, bytes, code, message, limits) {
      let caught: unknown;
      await intake(filename, bytes, limits).then(
        async (r) => {
          await r.cleanup();
          assert.fail(`expected ${code} for ${filename}, but the upload was accepted`);
        },
        (err: unknown) => (caught = err),
      );
      assert.ok(caught instanceof PlinthError, `expected a PlinthError, got ${String(caught)}`);
      assert.equal(caught.code, code, caught.message);
      assert.match(caught.message, message);
      assert.deepEqual(await listing(), ['deep', 'deep/er', 'deep/er/tmp'], 'the temp root is empty and nothing was written outside it');
      return caught;
    },
    dispose: () => rm(root, { recursive: true, force: true }),
  };
}

/** Bytes from a stream in chunks, to exercise multi-chunk paths. */
export function chunked(bytes: Buffer, size = 1000): Readable {
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
  return Readable.from(chunks);
}
