import { randomUUID } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import { PlinthError, printable } from '../../core/errors.js';
import type { CsvDialect, DataAssetListQuery, DataAssetRepository, DataAssetRow, DataFormat, AssetStatus, NewDataAsset } from '../job-ports.js';
import type { Page } from '../ports.js';
import { notFound } from '../storage.errors.js';
import { fromJson, nowIso, toJson } from './json-column.js';
import { afterNameCursor, checkLimit, namePrefixFilter, toPage } from './pagination.js';
import type { Database, DataAssetsTable } from './schema.js';
import { isForeignKeyViolation, isUniqueViolation } from './sql-errors.js';

const toAsset = (r: Selectable<DataAssetsTable>): DataAssetRow => ({
  id: r.id,
  spaceId: r.space_id,
  name: r.name,
  description: r.description,
  format: r.format as DataFormat,
  status: r.status as AssetStatus,
  size: Number(r.size),
  sha256: r.sha256,
  rowCount: r.row_count === null ? null : Number(r.row_count),
  columns: fromJson<string[]>(r.columns),
  dialect: fromJson<CsvDialect>(r.dialect),
  blobKey: r.blob_key,
  jobId: r.job_id,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export class SqlDataAssetRepository implements DataAssetRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async create(asset: NewDataAsset): Promise<DataAssetRow> {
    const now = nowIso();
    const row: Selectable<DataAssetsTable> = {
      id: asset.id ?? randomUUID(),
      space_id: asset.spaceId,
      name: asset.name,
      description: asset.description ?? null,
      format: asset.format,
      status: asset.status,
      size: asset.size ?? 0,
      sha256: asset.sha256 ?? null,
      row_count: asset.rowCount ?? null,
      columns: asset.columns ? toJson(asset.columns) : null,
      dialect: asset.dialect ? toJson(asset.dialect) : null,
      blob_key: asset.blobKey,
      job_id: asset.jobId ?? null,
      created_at: now,
      updated_at: now,
    };
    try {
      await this.db.insertInto('data_assets').values(row).execute();
    } catch (err) {
      if (isUniqueViolation(err)) throw new PlinthError('CONFLICT', `data asset '${printable(asset.name)}' already exists in this space`);
      if (isForeignKeyViolation(err)) throw notFound('space', asset.spaceId);
      throw err;
    }
    return toAsset(row);
  }

  async get(id: string): Promise<DataAssetRow | undefined> {
    const r = await this.db.selectFrom('data_assets').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toAsset(r);
  }

  async getByName(spaceId: string, name: string): Promise<DataAssetRow | undefined> {
    const r = await this.db.selectFrom('data_assets').selectAll().where('space_id', '=', spaceId).where('name', '=', name).executeTakeFirst();
    return r && toAsset(r);
  }

  async list(query: DataAssetListQuery): Promise<Page<DataAssetRow>> {
    const limit = checkLimit(query.limit);
    let q = this.db.selectFrom('data_assets').selectAll().where('space_id', '=', query.spaceId);
    if (query.namePrefix) q = q.where(namePrefixFilter(query.namePrefix));
    if (query.cursor) q = q.where(afterNameCursor(query.cursor));
    const rows = await q.orderBy('name').orderBy('id').limit(limit + 1).execute();
    return toPage(rows, limit, toAsset, (r) => [r.name, r.id]);
  }

  async markReady(id: string, info: { size: number; sha256: string; rowCount: number; columns?: string[] | null }): Promise<DataAssetRow> {
    await this.db
      .updateTable('data_assets')
      .set({
        status: 'ready',
        size: info.size,
        sha256: info.sha256,
        row_count: info.rowCount,
        ...(info.columns !== undefined && { columns: info.columns ? toJson(info.columns) : null }),
        updated_at: nowIso(),
      })
      .where('id', '=', id)
      .execute();
    const row = await this.get(id);
    if (!row) throw new PlinthError('NOT_FOUND', `data asset '${printable(id)}' does not exist`);
    return row;
  }

  async delete(id: string): Promise<boolean> {
    const result = await this.db.deleteFrom('data_assets').where('id', '=', id).executeTakeFirst();
    return result.numDeletedRows > 0n;
  }
}
