import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import multipart from '@fastify/multipart';
import { Type } from '@sinclair/typebox';
import { invalidInput, PlinthError, printable } from '../../core/errors.js';
import { formatModelUri } from '../../core/model-uri.js';
import type { ModelRegistryService } from '../../registry/model-registry.service.js';
import type { AliasView } from '../../registry/registry.types.js';
import { DEFAULT_SPACE } from '../../registry/registry-names.js';
import type { ModelRow, ModelVersionRow } from '../../storage/ports.js';
import { errorResponses } from '../shared/common.schema.js';
import { etagOf, parseIfMatch } from './etag.js';
import {
  AliasList, AliasListQuery, AliasParams, AliasResponse, ArtifactParams, ModelList, ModelListQuery, ModelParams, ModelPatchBody, ModelResponse,
  ModelVersionParams, ResolveQuery, ResolveResponse, SetAliasBody, SpaceQuery, UploadForm, VersionDetailResponse, VersionList,
} from './models.schema.js';
import { checkUploadHeaders, formLimits, openUpload, uploadError } from './multipart-upload.js';
import { PageQueryFields, pageInMemory, pageLimit, toWirePage } from './pagination.schema.js';
import { settleRefusedUpload } from '../../http/refused-upload.js';
import { untold, uploadDeadline } from '../../http/upload-deadline.js';

const tags = ['registry'];
const error = Type.Ref('Error');
const conflict = { 409: error };
const IfMatchHeaders = Type.Object({
  'if-match': Type.Optional(Type.String({ description: 'The ETag of a GET: the update applies only if the model is still at that revision (412 otherwise)', examples: ['"3"'] })),
});

export const modelView = (space: string) => (m: ModelRow) => ({
  name: m.name,
  space,
  description: m.description,
  tags: m.tags,
  revision: m.revision,
  createdAt: m.createdAt,
  updatedAt: m.updatedAt,
});

export const versionView = (space: string, model: string) => (v: ModelVersionRow) => ({
  model,
  space,
  version: v.version,
  status: v.status,
  sha256: v.sha256,
  size: v.size,
  signature: v.signature,
  manifest: v.manifest,
  metrics: v.metrics,
  tags: v.tags,
  createdAt: v.createdAt,
});

const aliasView = (a: AliasView) => ({
  name: a.name,
  version: a.version,
  computed: a.computed,
  ...(a.metric !== undefined && { metric: a.metric }),
  ...(a.updatedAt !== undefined && { updatedAt: a.updatedAt }),
});

/** A version number from the path: digits only, refused with the value it got otherwise. */
function versionOf(param: string): number {
  const n = /^[0-9]{1,15}$/.test(param) ? Number(param) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw invalidInput(`version '${printable(param, 20)}' must be a whole number >= 1 (1, 2, ...)`);
  return n;
}

const spaceOf = (query: { space?: string }) => query.space ?? DEFAULT_SPACE;
const spaceSuffix = (space: string) => (space === DEFAULT_SPACE ? '' : `?space=${encodeURIComponent(space)}`);
const versionUrl = (space: string, name: string, version: number) =>
  `/api/v1/models/${encodeURIComponent(name)}/versions/${version}${spaceSuffix(space)}`;

/** `attachment; filename=...` with an ASCII fallback and the UTF-8 name (RFC 6266). */
function attachment(path: string): string {
  const base = path.slice(path.lastIndexOf('/') + 1) || 'artifact';
  const ascii = base.replace(/[^A-Za-z0-9._-]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(base)}`;
}

/** Models, versions (upload, download), aliases and reference resolution, under /api/v1. */
export function registerModelRoutes(base: FastifyInstance, registry: ModelRegistryService, uploadTimeoutMs: number): void {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();

  // -- models ---------------------------------------------------------------------------------

  app.get('/api/v1/models', {
    schema: { tags, summary: 'List models', description: 'Filter by name prefix and tag; pages with limit and cursor.', querystring: ModelListQuery, response: { 200: ModelList, ...errorResponses } },
  }, async (req) => {
    const space = spaceOf(req.query);
    const page = await registry.listModels(space, { namePrefix: req.query.name, tag: req.query.tag, limit: pageLimit(req.query.limit), cursor: req.query.cursor });
    return toWirePage(page, modelView(space));
  });

  app.get('/api/v1/models/:name', {
    schema: { tags, summary: 'A model (ETag: its revision)', params: ModelParams, querystring: SpaceQuery, response: { 200: ModelResponse, ...errorResponses } },
  }, async (req, reply) => {
    const space = spaceOf(req.query);
    const model = await registry.getModel(space, req.params.name);
    reply.header('etag', etagOf(model.revision));
    return modelView(space)(model);
  });

  app.patch('/api/v1/models/:name', {
    schema: {
      tags,
      summary: "Update a model's description or tags",
      description: 'Send If-Match with the ETag of a GET to refuse lost updates: 412 when the model changed since.',
      params: ModelParams,
      querystring: SpaceQuery,
      headers: IfMatchHeaders,
      body: ModelPatchBody,
      response: { 200: ModelResponse, ...errorResponses, 412: error },
    },
  }, async (req, reply) => {
    const space = spaceOf(req.query);
    const model = await registry.updateModel(space, req.params.name, req.body, parseIfMatch(req.headers['if-match']));
    reply.header('etag', etagOf(model.revision));
    return modelView(space)(model);
  });

  app.delete('/api/v1/models/:name', {
    schema: {
      tags,
      summary: 'Delete a model with its versions and aliases',
      description: 'Refused (409) while a deployment uses the model.',
      params: ModelParams,
      querystring: SpaceQuery,
      response: { 204: Type.Null(), ...errorResponses, ...conflict },
    },
  }, async (req, reply) => {
    await registry.deleteModel(spaceOf(req.query), req.params.name);
    return reply.status(204).send(null);
  });

  // -- versions -------------------------------------------------------------------------------

  registerUploadRoute(app, registry, uploadTimeoutMs);

  app.get('/api/v1/models/:name/versions', {
    schema: {
      tags,
      summary: "List a model's versions, oldest first",
      params: ModelParams,
      querystring: Type.Object({ space: SpaceQuery.properties.space, ...PageQueryFields }, { additionalProperties: false }),
      response: { 200: VersionList, ...errorResponses },
    },
  }, async (req) => {
    const space = spaceOf(req.query);
    const page = await registry.listVersions(space, req.params.name, { limit: pageLimit(req.query.limit), cursor: req.query.cursor });
    return toWirePage(page, versionView(space, req.params.name));
  });

  app.get('/api/v1/models/:name/versions/:version', {
    schema: { tags, summary: 'A version with its artifact list', params: ModelVersionParams, querystring: SpaceQuery, response: { 200: VersionDetailResponse, ...errorResponses } },
  }, async (req) => {
    const space = spaceOf(req.query);
    const row = await registry.getVersion(space, req.params.name, versionOf(req.params.version));
    return { ...versionView(space, req.params.name)(row), artifacts: await registry.listArtifacts(row) };
  });

  app.delete('/api/v1/models/:name/versions/:version', {
    schema: {
      tags,
      summary: 'Delete a version',
      description: 'Refused (409) while a deployment or a user alias selects it. Its number is never reused.',
      params: ModelVersionParams,
      querystring: SpaceQuery,
      response: { 204: Type.Null(), ...errorResponses, ...conflict },
    },
  }, async (req, reply) => {
    await registry.deleteVersion(spaceOf(req.query), req.params.name, versionOf(req.params.version));
    return reply.status(204).send(null);
  });

  app.get('/api/v1/models/:name/versions/:version/artifacts/*', {
    schema: {
      tags,
      summary: 'Download one artifact of a version',
      description: 'The path is one the version\'s artifact list gives (model.onnx, model.yaml, assets/vocab.json); any other is 404.',
      params: ArtifactParams,
      querystring: SpaceQuery,
      produces: ['application/octet-stream'],
      response: { 200: Type.String({ format: 'binary', description: "The artifact's bytes" }), ...errorResponses },
    },
  }, async (req, reply) => {
    const space = spaceOf(req.query);
    const { name, '*': path } = req.params;
    const row = await registry.getVersion(space, name, versionOf(req.params.version));
    const file = (await registry.listArtifacts(row)).find((f) => f.path === path);
    if (!file) throw new PlinthError('NOT_FOUND', `version ${row.version} of model '${printable(name)}' has no artifact '${printable(path, 120)}'`);
    const stream = await registry.openArtifact(row, file.path);
    return reply
      .type('application/octet-stream')
      .header('content-length', file.size)
      .header('content-disposition', attachment(file.path))
      .header('x-content-sha256', file.sha256)
      .send(stream);
  });

  // -- aliases --------------------------------------------------------------------------------

  app.get('/api/v1/models/:name/aliases', {
    schema: {
      tags,
      summary: "A model's aliases, by name",
      description: "User aliases, and the computed 'latest' (highest ready version) and 'best' (best primary metric) when the model has them.",
      params: ModelParams,
      querystring: AliasListQuery,
      response: { 200: AliasList, ...errorResponses },
    },
  }, async (req) => {
    const aliases = await registry.listAliases(spaceOf(req.query), req.params.name);
    return toWirePage(pageInMemory(aliases, (a) => a.name, req.query), aliasView);
  });

  app.put('/api/v1/models/:name/aliases/:alias', {
    schema: {
      tags,
      summary: 'Create an alias or move it to another version',
      description: "Deployments that follow the alias switch to the new version. 'latest' and 'best' are computed: 400.",
      params: AliasParams,
      querystring: SpaceQuery,
      body: SetAliasBody,
      response: { 200: AliasResponse, ...errorResponses, ...conflict },
    },
  }, async (req) => {
    const row = await registry.setAlias(spaceOf(req.query), req.params.name, req.params.alias, req.body.version);
    return aliasView({ name: row.name, version: row.version, computed: false, updatedAt: row.updatedAt });
  });

  app.delete('/api/v1/models/:name/aliases/:alias', {
    schema: {
      tags,
      summary: 'Delete an alias',
      description: "'latest' and 'best' are computed: 400.",
      params: AliasParams,
      querystring: SpaceQuery,
      response: { 204: Type.Null(), ...errorResponses, ...conflict },
    },
  }, async (req, reply) => {
    await registry.deleteAlias(spaceOf(req.query), req.params.name, req.params.alias);
    return reply.status(204).send(null);
  });

  // -- references -----------------------------------------------------------------------------

  app.get('/api/v1/resolve', {
    schema: {
      tags,
      summary: 'Resolve a model reference to a model and version',
      description: "What 'iris', 'iris@production', 'models:/iris/3' or 'models:/iris/best' points at now.",
      querystring: ResolveQuery,
      response: { 200: ResolveResponse, ...errorResponses, ...conflict },
    },
  }, async (req) => {
    const space = spaceOf(req.query);
    const resolved = await registry.resolve(space, req.query.reference);
    return {
      reference: req.query.reference,
      uri: formatModelUri({ name: resolved.model.name, version: resolved.version.version }),
      space: resolved.space.name,
      model: modelView(resolved.space.name)(resolved.model),
      version: versionView(resolved.space.name, resolved.model.name)(resolved.version),
    };
  });
}

/**
 * POST /api/v1/models/{name}/versions, in a scope of its own: @fastify/multipart's parser and
 * hooks then apply to this route only, not to every inference request.
 */
function registerUploadRoute(app: FastifyInstance, registry: ModelRegistryService, uploadTimeoutMs: number): void {
  const maxUploadBytes = registry.uploadLimits.maxUploadBytes;
  app.register(async (base) => {
    await base.register(multipart, { limits: formLimits(maxUploadBytes) });
    const scope = base.withTypeProvider<TypeBoxTypeProvider>();
    scope.post('/api/v1/models/:name/versions', {
      ...uploadDeadline(uploadTimeoutMs, checkUploadHeaders(maxUploadBytes)),
      schema: {
        tags,
        summary: 'Upload a new version (multipart/form-data)',
        description:
          'The form: optional text fields `description` and `tags` (comma-separated), then the part `file`: a .onnx file, an ' +
          'XGBoost JSON model (.json, Booster.save_model), or a .zip / .tar.gz / .tgz / .tar of a model folder with model.onnx ' +
          '(or an XGBoost model.json), model.yaml and any other artifacts. An XGBoost model is compiled to model.onnx (an ai.onnx.ml ' +
          'tree ensemble) and kept as xgboost.json for tree SHAP; one that is not JSON or not an XGBoost model is 400, one with an ' +
          'objective, categorical splits or a booster Plinth does not serve is 422. Fields must come ' +
          'before the file (a field after it is refused with 400). The model is created by its first upload. The version is ' +
          'validated by loading it once (422 with ONNX Runtime\'s reason otherwise), becomes the next integer version, and is ' +
          `servable at once. Size limit: the server's upload limit (PLINTH_MAX_UPLOAD_MB), 413 past it. Deadline: ` +
          'PLINTH_UPLOAD_TIMEOUT_MS; a client that closes the connection before the answer leaves no version.',
        consumes: ['multipart/form-data'],
        params: ModelParams,
        querystring: SpaceQuery,
        body: UploadForm,
        response: { 201: VersionDetailResponse, ...errorResponses, ...conflict, 422: error },
      },
    }, async (req, reply) => {
      const space = spaceOf(req.query);
      const name = req.params.name;
      const outcome = untold(reply);
      try {
        const form = await openUpload(req, maxUploadBytes);
        const { version, model } = await registry.uploadVersion({
          signal: outcome.signal,
          space,
          name,
          filename: form.filename,
          stream: form.stream,
          description: form.description,
          tags: form.tags,
        });
        const body = { ...versionView(space, model.name)(version), artifacts: await registry.listArtifacts(version) };
        outcome.answering();
        return reply.status(201).header('location', versionUrl(space, model.name, version.version)).send(body);
      } catch (err) {
        await settleRefusedUpload(req, reply);
        throw uploadError(err, maxUploadBytes);
      }
    });
  });
}
