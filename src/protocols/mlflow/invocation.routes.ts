import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { ProtocolDeps } from '../shared/protocol-deps.js';
import { PlinthError } from '../../core/errors.js';
import type { InferenceService } from '../../inference/inference.service.js';
import type { ModelStatus } from '../../inference/inference.types.js';
import { errorResponses, NameParams, NameVersionParams } from '../shared/common.schema.js';
import { ModelDetail, ModelList, VersionDetail } from './invocation.schema.js';
import { invokeMlflow } from './mlflow.mapper.js';
import { InvocationsBody, InvocationsResponse } from './mlflow.schema.js';

const tags = ['mlflow'];

async function summary(inference: InferenceService, status: ModelStatus) {
  const versions = [];
  for (const v of status.versions) {
    versions.push({ ...v, ...(v.state === 'READY' ? { metrics: (await inference.describe(status.name, v.version)).schema.metrics } : {}) });
  }
  return {
    name: status.name,
    // What `latest` resolves to: the newest version that can serve, not a newer one that failed to load.
    latest_version: status.versions.filter((v) => v.state === 'READY').at(-1)?.version ?? null,
    versions,
  };
}

async function bestVersion(inference: InferenceService, name: string): Promise<string | null> {
  try {
    return (await inference.describe(name, 'best')).version;
  } catch (err) {
    if (err instanceof PlinthError && (err.code === 'CONFLICT' || err.code === 'MODEL_UNAVAILABLE')) return null;
    throw err;
  }
}

/** The MLflow model-invocation endpoint: list models and versions, invoke a version, `latest` or `best`. */
export function registerInvocationRoutes(base: FastifyInstance, { inference, call }: ProtocolDeps): void {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();

  app.get('/model', { schema: { tags, summary: 'List models and their versions', response: { 200: ModelList } } }, async () =>
    Promise.all(inference.list().map((m) => summary(inference, m))));

  app.get('/model/:name', { schema: { tags, summary: 'One model, its versions and the best one', params: NameParams, response: { 200: ModelDetail, ...errorResponses } } }, async (req) => {
    const status = inference.status(req.params.name);
    const best = await bestVersion(inference, req.params.name);
    return {
      ...(await summary(inference, status)),
      best_version: best,
      primary_metric: best ? ((await inference.describe(req.params.name, best)).schema.primaryMetric ?? null) : null,
    };
  });

  app.get('/model/:name/:version', { schema: { tags, summary: "One version ('latest' and 'best' work too)", params: NameVersionParams, response: { 200: VersionDetail, 409: Type.Ref('Error'), ...errorResponses } } }, async (req) => {
    const d = await inference.describe(req.params.name, req.params.version);
    return {
      name: d.name,
      version: d.version,
      task: d.schema.task ?? null,
      ...(d.schema.description ? { description: d.schema.description } : {}),
      metrics: d.schema.metrics,
      classes: d.schema.classes ?? null,
      features: d.schema.features ?? [],
      inputs: d.signature.inputs,
      outputs: d.signature.outputs,
    };
  });

  const invoke = { tags, consumes: ['application/json', 'text/csv'], body: InvocationsBody, response: { 200: InvocationsResponse, 409: Type.Ref('Error'), ...errorResponses } };
  app.post('/model/:name/:version/invocation', { schema: { ...invoke, summary: 'Invoke a version', params: NameVersionParams } }, async (req, reply) =>
    invokeMlflow(inference, req.params.name, req.params.version, req.body, call(reply)));
  for (const selector of ['latest', 'best'] as const) {
    app.post(`/model/:name/invocation/${selector}`, {
      schema: { ...invoke, summary: selector === 'latest' ? 'Invoke the newest version' : "Invoke the version with the best primary metric", params: NameParams },
    }, async (req, reply) => invokeMlflow(inference, req.params.name, selector, req.body, call(reply)));
  }
}
