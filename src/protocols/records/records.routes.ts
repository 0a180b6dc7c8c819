import type { FastifyInstance, FastifyReply } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { readinessStatus } from '../../http/readiness.js';
import type { ProtocolDeps } from '../shared/protocol-deps.js';
import { errorResponses, NameParams } from '../shared/common.schema.js';
import { explainOptions, explanationPerRecord, toExplainResponse } from '../explain/explain.mapper.js';
import { ExplainQuery, ExplainResponse } from '../explain/explain.schema.js';
import { featuresOf, isSingleRecord, recordsOf, samplesOf, toInfoResponse, toPredictResponse } from './records.mapper.js';
import { FeaturesResponse, InfoResponse, isOn, PredictBody, PredictQuery, PredictResponse, ServiceInfo } from './records.schema.js';

const tags = ['records'];

/** The Flask template's routes, per model under /models/{name} and for a single-model server at the root. */
export function registerRecordsRoutes(base: FastifyInstance, { inference, lifecycle, version, call }: ProtocolDeps): void {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();

  const predict = async (name: string, body: unknown, query: { proba?: string; explain?: string }, reply: FastifyReply) => {
    const proba = isOn(query.proba);
    const records = recordsOf(body);
    const prediction = await inference.predict(name, undefined, records, { probabilities: proba }, call(reply));
    const response = toPredictResponse(prediction, proba);
    if (!isOn(query.explain)) return response;
    // The same version that predicted (a canary split may have picked either).
    const { explanation } = await inference.explain(name, prediction.modelVersion, records, { background: samplesOf(body) });
    const perRecord = explanationPerRecord(explanation, prediction);
    return { ...response, explanation: isSingleRecord(body) ? perRecord[0] : perRecord };
  };
  const predictSchema = {
    tags,
    querystring: PredictQuery,
    body: PredictBody,
    response: { 200: PredictResponse, ...errorResponses },
  };

  app.post('/models/:name/predict', { schema: { ...predictSchema, summary: 'Predict from records', params: NameParams } }, async (req, reply) =>
    predict(req.params.name, req.body, req.query, reply));
  app.post('/predict', { schema: { ...predictSchema, summary: 'Predict with the only model served' } }, async (req, reply) =>
    predict(inference.soleModel(), req.body, req.query, reply));

  app.post('/models/:name/explain', {
    schema: {
      tags,
      summary: 'SHAP values per record and per class, with the base value, output space and method',
      description: 'Records as for /predict; `_samples` gives background rows (interventional tree SHAP in probability space, or kernel SHAP).',
      params: NameParams,
      querystring: ExplainQuery,
      body: PredictBody,
      response: { 200: ExplainResponse, ...errorResponses },
    },
  }, async (req) => {
    const explained = await inference.explain(req.params.name, undefined, recordsOf(req.body), { ...explainOptions(req.query), background: samplesOf(req.body) });
    return toExplainResponse(explained);
  });

  const info = { tags, response: { 200: InfoResponse, ...errorResponses } };
  const infoOf = async (name: string) => toInfoResponse(await inference.describe(name), await inference.explainability(name));
  app.get('/models/:name/info', { schema: { ...info, summary: 'Model information', params: NameParams } }, async (req) => infoOf(req.params.name));
  app.get('/info', { schema: { ...info, summary: 'Information on the only model served' } }, async () => infoOf(inference.soleModel()));

  const features = { tags, response: { 200: FeaturesResponse, ...errorResponses } };
  const featuresWithImportance = async (name: string) => featuresOf(await inference.describe(name), await inference.importance(name));
  app.get('/models/:name/features', { schema: { ...features, summary: 'Model features, with global importance (mean |SHAP|) when it can be computed', params: NameParams } }, async (req) =>
    featuresWithImportance(req.params.name));
  app.get('/features', { schema: { ...features, summary: 'Features of the only model served' } }, async () => featuresWithImportance(inference.soleModel()));

  const text = Type.String();
  app.get('/health', { schema: { tags: ['health'], summary: 'Liveness: answers "up"', response: { 200: text } } }, async (_req, reply) =>
    reply.type('text/plain').send('up'));
  app.get('/ready', { schema: { tags: ['health'], summary: 'Readiness: "ready", or 503 while loading or draining', response: { 200: text, 503: text } } }, async (_req, reply) =>
    readinessStatus(reply, lifecycle.ready).type('text/plain').send(lifecycle.ready ? 'ready' : 'not ready'));

  app.get('/service-info', { schema: { tags: ['health'], summary: 'Version, start time and models served', response: { 200: ServiceInfo } } }, async () => {
    const names = inference.list().map((m) => m.name);
    return {
      name: 'plinth',
      version,
      'running-since': lifecycle.startedAt.getTime() / 1000,
      'serving-model': names.length === 1 ? names[0]! : null,
      'serving-models': names,
      debug: false,
    };
  });
}
