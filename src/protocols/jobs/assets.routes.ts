import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import multipart from '@fastify/multipart';
import { Type } from '@sinclair/typebox';
import type { DataAssetService } from '../../jobs/data-asset.service.js';
import type { SpaceNames } from '../../jobs/space-names.js';
import type { DataAssetRow } from '../../storage/job-ports.js';
import { checkUploadHeaders, formLimits, uploadError } from '../management/multipart-upload.js';
import { pageLimit } from '../management/pagination.schema.js';
import { errorResponses } from '../shared/common.schema.js';
import { openAssetUpload } from './asset-upload.js';
import { AssetList, AssetListQuery, AssetParams, AssetResponse, SpaceQuery, UploadQuery } from './jobs.schema.js';
import { settleRefusedUpload } from '../../http/refused-upload.js';
import { uploadDeadline } from '../../http/upload-deadline.js';

const tags = ['data assets'];
const error = Type.Ref('Error');

export async function assetView(row: DataAssetRow, spaces: SpaceNames) {
  return {
    id: row.id,
    name: row.name,
    space: await spaces.of(row.spaceId),
    description: row.description,
    format: row.format,
    status: row.status,
    size: row.size,
    sha256: row.sha256,
    rowCount: row.rowCount,
    columns: row.columns,
    dialect: row.dialect,
    jobId: row.jobId,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

const CONTENT_TYPES = { csv: 'text/csv; charset=utf-8', ndjson: 'application/x-ndjson', json: 'application/json' } as const;

function attachment(name: string): string {
  const ascii = name.replace(/[^A-Za-z0-9._-]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

/** Data assets under /api/v1/assets: streamed upload, list, metadata, download, delete. */
export function registerAssetRoutes(base: FastifyInstance, assets: DataAssetService, spaces: SpaceNames, uploadTimeoutMs: number): void {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  const limit = assets.maxUploadBytes;

  app.register(async (scope) => {
    await scope.register(multipart, { limits: formLimits(limit) });
    scope.withTypeProvider<TypeBoxTypeProvider>().post('/api/v1/assets', {
      ...uploadDeadline(uploadTimeoutMs, checkUploadHeaders(limit)),
      schema: {
        tags,
        summary: 'Upload a data file (multipart/form-data)',
        description:
          'Optional text fields `name` (default: the file name) and `description`, then the file in a part named `file`: CSV (header row; ' +
          'delimiter, quote, BOM, CRLF detected), NDJSON (.ndjson/.jsonl) or a JSON array of records (.json). Streamed to the blob store; ' +
          'size, SHA-256, row count and columns are recorded. Must be UTF-8 (400 with the line otherwise); 413 past PLINTH_MAX_ASSET_MB.',
        consumes: ['multipart/form-data'],
        querystring: UploadQuery,
        response: { 201: AssetResponse, ...errorResponses, 409: error },
      },
    }, async (req, reply) => {
      try {
        const form = await openAssetUpload(req, limit);
        const row = await assets.upload({
          space: req.query.space,
          name: req.query.name ?? form.name,
          filename: form.filename,
          stream: form.stream,
          description: form.description,
          format: req.query.format,
        });
        return reply.status(201).header('location', `/api/v1/assets/${row.id}`).send(await assetView(row, spaces));
      } catch (err) {
        await settleRefusedUpload(req, reply);
        throw uploadError(err, limit);
      }
    });
  });

  app.get('/api/v1/assets', {
    schema: { tags, summary: "List a space's data assets", querystring: AssetListQuery, response: { 200: AssetList, ...errorResponses } },
  }, async (req) => {
    const page = await assets.list(req.query.space, { namePrefix: req.query.name, limit: pageLimit(req.query.limit), cursor: req.query.cursor });
    return { items: await Promise.all(page.items.map((a) => assetView(a, spaces))), ...(page.nextCursor && { nextCursor: page.nextCursor }) };
  });

  app.get('/api/v1/assets/:id', {
    schema: { tags, summary: 'A data asset: format, size, SHA-256, rows, columns', params: AssetParams, querystring: SpaceQuery, response: { 200: AssetResponse, ...errorResponses } },
  }, async (req) => assetView(await assets.find(req.params.id, req.query.space), spaces));

  app.get('/api/v1/assets/:id/content', {
    schema: {
      tags,
      summary: "Download a data asset's bytes",
      params: AssetParams,
      querystring: SpaceQuery,
      produces: ['text/csv', 'application/x-ndjson', 'application/json'],
      response: { 200: Type.String({ format: 'binary' }), ...errorResponses, 409: error },
    },
  }, async (req, reply) => {
    const row = await assets.find(req.params.id, req.query.space);
    const stream = await assets.open(row);
    reply.type(CONTENT_TYPES[row.format]).header('content-length', row.size).header('content-disposition', attachment(row.name));
    if (row.sha256) reply.header('x-content-sha256', row.sha256);
    return reply.send(stream);
  });

  app.delete('/api/v1/assets/:id', {
    schema: { tags, summary: 'Delete a data asset (409 while a queued or running job uses it)', params: AssetParams, querystring: SpaceQuery, response: { 204: Type.Null(), ...errorResponses, 409: error } },
  }, async (req, reply) => {
    await assets.delete(await assets.find(req.params.id, req.query.space));
    return reply.status(204).send(null);
  });
}
