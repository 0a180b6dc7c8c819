import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { invalidInput, PlinthError, printable } from '../core/errors.js';
import type { ModelRegistryService } from '../registry/model-registry.service.js';
import { DEFAULT_SPACE } from '../registry/registry-names.js';
import type { DataAssetRow, DataFormat, JobRepositories } from '../storage/job-ports.js';
import type { BlobStorePort, Page } from '../storage/ports.js';
import { AssetAnalyzer } from './asset-analyzer.js';
import type { JobSettings } from './job-settings.js';

export interface UploadAssetInput {
  /** Space name; `default` when omitted. */
  space?: string;
  /** The asset's name; the file name when omitted. */
  name?: string;
  filename: string;
  stream: AsyncIterable<Uint8Array>;
  description?: string;
  /** Overrides the format the file name (or the first character) says. */
  format?: DataFormat;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._ -]{0,199}$/;

/** Asset names: 1-200 letters, digits, '.', '_', '-' and spaces, starting with a letter or digit. */
export function assertAssetName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || !NAME.test(name) || name.endsWith(' ')) {
    throw invalidInput(`data asset name '${printable(String(name), 60)}' is invalid: use 1-200 letters, digits, '.', '_', '-' or spaces, starting with a letter or digit`);
  }
}

const tooLarge = (limit: number) => new PlinthError('PAYLOAD_TOO_LARGE', `the file is larger than the ${Math.round(limit / (1024 * 1024))} MiB data asset limit (PLINTH_MAX_ASSET_MB)`);

/**
 * Data assets: files in a space that jobs read and write. An upload streams to the blob store
 * while AssetAnalyzer learns its format, dialect, header and row count and checks it is UTF-8;
 * nothing holds the whole file. A refused upload leaves no blob and no row.
 */
export class DataAssetService {
  constructor(
    private readonly repos: JobRepositories,
    private readonly registry: ModelRegistryService,
    private readonly blobs: BlobStorePort,
    private readonly settings: JobSettings,
  ) {}

  get maxUploadBytes(): number {
    return this.settings.maxAssetBytes;
  }

  async upload(input: UploadAssetInput): Promise<DataAssetRow> {
    const space = await this.registry.getSpace(input.space ?? DEFAULT_SPACE);
    const name = input.name ?? input.filename.slice(input.filename.lastIndexOf('/') + 1);
    assertAssetName(name);
    if (input.description !== undefined && input.description.length > 10_000) throw invalidInput('description is longer than 10000 characters');
    if (await this.repos.assets.getByName(space.id, name)) throw new PlinthError('CONFLICT', `data asset '${printable(name)}' already exists in space '${printable(space.name)}'`);
    const id = randomUUID();
    const key = `assets/${id}`;
    const analyzer = new AssetAnalyzer(input.filename, this.settings.maxRecordChars, input.format);
    const limit = this.settings.maxAssetBytes;
    async function* tap(source: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
      let bytes = 0;
      for await (const chunk of source) {
        bytes += chunk.byteLength;
        if (bytes > limit) throw tooLarge(limit);
        analyzer.update(chunk);
        yield chunk;
      }
    }
    const info = await this.blobs.put(key, tap(input.stream));
    try {
      const facts = analyzer.finish();
      return await this.repos.assets.create({
        id,
        spaceId: space.id,
        name,
        description: input.description ?? null,
        format: facts.format,
        status: 'ready',
        size: info.size,
        sha256: info.sha256,
        rowCount: facts.rowCount,
        columns: facts.columns,
        dialect: facts.dialect,
        blobKey: key,
      });
    } catch (err) {
      await this.blobs.delete(key);
      throw err;
    }
  }

  async list(spaceName: string | undefined, query: { namePrefix?: string; limit?: number; cursor?: string }): Promise<Page<DataAssetRow>> {
    const space = await this.registry.getSpace(spaceName ?? DEFAULT_SPACE);
    return this.repos.assets.list({ spaceId: space.id, namePrefix: query.namePrefix, limit: query.limit ?? 100, cursor: query.cursor });
  }

  /**
   * By id or by name, inside the space (default `default`) only: another space's asset is "does
   * not exist", word for word as a missing one, so neither its id nor its name can be probed.
   */
  async find(idOrName: string, spaceName: string = DEFAULT_SPACE): Promise<DataAssetRow> {
    const space = await this.registry.getSpace(spaceName);
    const byId = await this.repos.assets.get(idOrName);
    if (byId && byId.spaceId === space.id) return byId;
    const byName = await this.repos.assets.getByName(space.id, idOrName);
    if (!byName) throw new PlinthError('NOT_FOUND', `data asset '${printable(idOrName)}' does not exist in space '${printable(space.name)}'`);
    return byName;
  }

  /** The asset's bytes; CONFLICT while a job is still writing it. */
  async open(asset: DataAssetRow): Promise<Readable> {
    if (asset.status !== 'ready') throw new PlinthError('CONFLICT', `data asset '${printable(asset.name)}' is still being written by job ${asset.jobId}`);
    return this.blobs.get(asset.blobKey);
  }

  /** Refused (409) while a queued or running job reads or writes it. */
  async delete(asset: DataAssetRow): Promise<void> {
    const users = await this.repos.jobs.countUsingAsset(asset.id, ['queued', 'running']);
    if (users > 0) throw new PlinthError('CONFLICT', `data asset '${printable(asset.name)}' is used by ${users} queued or running job(s): cancel them first`);
    await this.repos.assets.delete(asset.id);
    await this.blobs.delete(asset.blobKey);
  }
}
