import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { readinessStatus } from '../../http/readiness.js';
import type { ProtocolDeps } from '../shared/protocol-deps.js';
import { errorResponses, NameParams } from '../shared/common.schema.js';
import { invokeMlflow } from './mlflow.mapper.js';
import { InvocationsBody, InvocationsResponse } from './mlflow.schema.js';

const tags = ['mlflow'];

/** MLflow's scoring server routes: /invocations (per model and for a single-model server), /ping, /version. */
export function registerMlflowRoutes(base: FastifyInstance, { inference, lifecycle, version, call }: ProtocolDeps): void {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  const schema = {
    tags,
    consumes: ['application/json', 'text/csv'],
    body: InvocationsBody,
    response: { 200: InvocationsResponse, ...errorResponses },
  };

  app.post('/models/:name/invocations', { schema: { ...schema, summary: 'MLflow scoring', params: NameParams } }, async (req, reply) =>
    invokeMlflow(inference, req.params.name, undefined, req.body, call(reply)));
  app.post('/invocations', { schema: { ...schema, summary: 'MLflow scoring with the only model served' } }, async (req, reply) =>
    invokeMlflow(inference, inference.soleModel(), undefined, req.body, call(reply)));

  app.get('/ping', { schema: { tags, summary: 'MLflow health check', response: { 200: Type.String(), 503: Type.String() } } }, async (_req, reply) =>
    readinessStatus(reply, lifecycle.ready).type('text/plain').send('\n'));
  app.get('/version', { schema: { tags, summary: 'Server version', response: { 200: Type.String() } } }, async (_req, reply) =>
    reply.type('text/plain').send(version));
}
