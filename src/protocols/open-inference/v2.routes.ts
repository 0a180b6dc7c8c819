import type { FastifyInstance } from 'fastify';
import { toExplainResponse } from '../explain/explain.mapper.js';
import { V2ExplainRequest, V2ExplainResponse } from '../explain/explain.schema.js';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { readinessStatus } from '../../http/readiness.js';
import type { ProtocolDeps } from '../shared/protocol-deps.js';
import { BINARY_HEADER } from '../../http/json-body.parser.js';
import { errorResponses, NameParams, NameVersionParams } from '../shared/common.schema.js';
import { binaryOutputs, toInferenceRequest, toInferResponse } from './v2.mapper.js';
import {
  InferRequest, InferResponse, Live, ModelMetadata, ModelReady, Ready, RepositoryIndexRequest, RepositoryIndexResponse,
  ServerMetadata,
} from './v2.schema.js';

const tags = ['open-inference'];

/** Open Inference Protocol (KServe V2) REST: health, metadata, infer, repository extension. */
export function registerV2Routes(base: FastifyInstance, { inference, lifecycle, version, call }: ProtocolDeps): void {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();

  app.get('/v2/health/live', { schema: { tags, summary: 'Server liveness', response: { 200: Live } } }, async () => ({ live: true }));

  app.get('/v2/health/ready', { schema: { tags, summary: 'Server readiness', response: { 200: Ready, 503: Ready } } }, async (_req, reply) => {
    return readinessStatus(reply, lifecycle.ready).send({ ready: lifecycle.ready });
  });

  app.get('/v2', { schema: { tags, summary: 'Server metadata', response: { 200: ServerMetadata } } }, async () => ({
    name: 'plinth',
    version,
    extensions: ['binary_tensor_data', 'model_repository'],
  }));

  for (const [suffix, params] of [['', NameParams], ['/versions/:version', NameVersionParams]] as const) {
    const prefix = `/v2/models/:name${suffix}`;
    const versionOf = (p: object) => (p as { version?: string }).version;

    app.get(prefix, { schema: { tags, summary: 'Model metadata', params, response: { 200: ModelMetadata, ...errorResponses } } }, async (req) => {
      const d = await inference.describe(req.params.name, versionOf(req.params));
      return { name: d.name, versions: d.versions, platform: d.platform, inputs: d.signature.inputs, outputs: d.signature.outputs };
    });

    app.get(`${prefix}/ready`, {
      schema: { tags, summary: 'Model readiness', params, response: { 200: ModelReady, 503: ModelReady, 404: errorResponses[404], 400: errorResponses[400] } },
    }, async (req, reply) => {
      const ready = await inference.isReady(req.params.name, versionOf(req.params));
      return readinessStatus(reply, ready).send({ name: req.params.name, ready });
    });

    app.post(`${prefix}/infer`, {
      schema: {
        tags,
        summary: 'Run inference',
        description:
          'JSON tensors, or the binary tensor data extension: send `Inference-Header-Content-Length` with the JSON header length, ' +
          'give inputs `parameters.binary_data_size` and append their raw little-endian bytes; ask for binary outputs with ' +
          '`outputs[].parameters.binary_data` or `parameters.binary_data_output`.',
        params,
        body: InferRequest,
        response: { 200: InferResponse, ...errorResponses },
      },
      // The mapper builds the response from the schema's own fields; V8's JSON.stringify writes these
      // small arrays of numbers faster than a compiled serializer that treats `data` as unknown[].
      serializerCompiler: () => JSON.stringify,
    }, async (req, reply) => {
      const request = toInferenceRequest(req.body, req.binaryTail, inference.rowLimit);
      const result = await inference.infer(req.params.name, versionOf(req.params), request, call(reply));
      const encoded = toInferResponse(result, binaryOutputs(req.body, result.outputs.map((o) => o.name)));
      if (!encoded.binary) return encoded.json;
      const header = Buffer.from(JSON.stringify(encoded.json));
      return reply
        .header(BINARY_HEADER, header.length)
        .type('application/octet-stream')
        .send(Buffer.concat([header, ...encoded.binary]));
    });
  }

  for (const [suffix, params] of [['', NameParams], ['/versions/:version', NameVersionParams]] as const) {
    app.post(`/v2/models/:name${suffix}/explain`, {
      schema: {
        tags,
        summary: 'Explain predictions (SHAP): values per record and output, base value, output space, method',
        description: 'The inputs of an infer request (the packed [N, F] input, or one input per feature); `parameters` tune the explanation.',
        params,
        body: V2ExplainRequest,
        response: { 200: V2ExplainResponse, ...errorResponses },
      },
    }, async (req) => {
      const { inputs } = toInferenceRequest({ inputs: req.body.inputs }, null, inference.rowLimit);
      const p = req.body.parameters ?? {};
      const explained = await inference.explainTensors(req.params.name, (req.params as { version?: string }).version, inputs, {
        ...(p.budget !== undefined && { budget: p.budget }),
        ...(p.output_space !== undefined && { outputSpace: p.output_space }),
        ...(p.method !== undefined && { method: p.method }),
        ...(p.seed !== undefined && { seed: p.seed }),
        ...(p.samples !== undefined && { background: p.samples }),
      });
      return { ...(req.body.id !== undefined && { id: req.body.id }), ...toExplainResponse(explained) };
    });
  }

  app.post('/v2/repository/index', {
    schema: { tags, summary: 'List every model in the repository with its state', body: RepositoryIndexRequest, response: { 200: RepositoryIndexResponse } },
    // The body is optional in the protocol: treat a missing one as {}.
    preValidation: async (req) => {
      req.body ??= {};
    },
  }, async (req) => {
    const rows = (await inference.index()).flatMap((m) =>
      m.versions.length
        ? m.versions.map((v) => ({ name: m.name, version: v.version, state: v.state, ...(v.reason ? { reason: v.reason } : {}) }))
        : [{ name: m.name, version: '', state: 'UNLOADED' }],
    );
    return req.body?.ready ? rows.filter((r) => r.state === 'READY') : rows;
  });

  app.post('/v2/repository/models/:name/load', {
    schema: {
      tags,
      summary: 'Load or reload a model from the repository',
      description: 'A reload that fails answers 422 with the reason, and the previously loaded model keeps serving.',
      params: NameParams,
      response: { 200: Type.Object({}), ...errorResponses },
    },
  }, async (req) => {
    await inference.load(req.params.name);
    return {};
  });

  app.post('/v2/repository/models/:name/unload', {
    schema: { tags, summary: 'Unload a model', params: NameParams, response: { 200: Type.Object({}), ...errorResponses } },
  }, async (req) => {
    await inference.unload(req.params.name);
    return {};
  });
}
