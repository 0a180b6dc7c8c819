import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { ProtocolDeps } from '../shared/protocol-deps.js';
import { invalidInput } from '../../core/errors.js';
import { errorResponses, NameParams } from '../shared/common.schema.js';
import { featuresOf, recordsOf, toInfoResponse, toPredictResponse } from './records.mapper.js';
import { FeaturesResponse, InfoResponse, isOn, PredictBody, PredictQuery, PredictResponse, ServiceInfo } from './records.schema.js';

const tags = ['records'];

/** The Flask template's routes, per model under /models/{name} and for a single-model server at the root. */
export function registerRecordsRoutes(base: FastifyInstance, { inference, lifecycle, version }: ProtocolDeps): void {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();

  const predict = async (name: string, body: unknown, query: { proba?: string; explain?: string }) => {
    if (isOn(query.explain)) throw invalidInput(`model '${name}' is not explainable yet; drop explain=1`);
    const proba = isOn(query.proba);
    const prediction = await inference.predict(name, undefined, recordsOf(body), { probabilities: proba });
    return toPredictResponse(prediction, proba);
  };
  const predictSchema = {
    tags,
    querystring: PredictQuery,
    body: PredictBody,
    response: { 200: PredictResponse, ...errorResponses },
  };

  app.post('/models/:name/predict', { schema: { ...predictSchema, summary: 'Predict from records', params: NameParams } }, async (req) =>
    predict(req.params.name, req.body, req.query));
  app.post('/predict', { schema: { ...predictSchema, summary: 'Predict with the only model served' } }, async (req) =>
    predict(inference.soleModel(), req.body, req.query));

  const info = { tags, response: { 200: InfoResponse, ...errorResponses } };
  app.get('/models/:name/info', { schema: { ...info, summary: 'Model information', params: NameParams } }, async (req) =>
    toInfoResponse(await inference.describe(req.params.name)));
  app.get('/info', { schema: { ...info, summary: 'Information on the only model served' } }, async () =>
    toInfoResponse(await inference.describe(inference.soleModel())));

  const features = { tags, response: { 200: FeaturesResponse, ...errorResponses } };
  app.get('/models/:name/features', { schema: { ...features, summary: 'Model features', params: NameParams } }, async (req) =>
    featuresOf(await inference.describe(req.params.name)));
  app.get('/features', { schema: { ...features, summary: 'Features of the only model served' } }, async () =>
    featuresOf(await inference.describe(inference.soleModel())));

  const text = Type.String();
  app.get('/health', { schema: { tags: ['health'], summary: 'Liveness: answers "up"', response: { 200: text } } }, async (_req, reply) =>
    reply.type('text/plain').send('up'));
  app.get('/ready', { schema: { tags: ['health'], summary: 'Readiness: "ready", or 503 while loading or draining', response: { 200: text, 503: text } } }, async (_req, reply) =>
    reply.status(lifecycle.ready ? 200 : 503).type('text/plain').send(lifecycle.ready ? 'ready' : 'not ready'));

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
