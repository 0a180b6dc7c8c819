import fastifyFormbody from '@fastify/formbody';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { errorResponses } from '../shared/common.schema.js';
import type { ProtocolDeps } from '../shared/protocol-deps.js';
import { textRecord, toPegaResponse } from './pega.mapper.js';
import { PegaBody, PegaResponse } from './pega.schema.js';

const tags = ['pega'];

/**
 * The Pega text-model containers' routes: `modelIdentifier` and `text` as JSON or form fields.
 * `/auth/predict` always needs a token; `/noauth/predict` serves public deployments and public
 * models only (the route policy enforces both).
 */
export async function registerPegaRoutes(base: FastifyInstance, { inference, call }: ProtocolDeps): Promise<void> {
  await base.register(async (scope) => {
    // Form posts only here: Pega's REST connectors send form fields; no other route accepts them.
    await scope.register(fastifyFormbody);
    const app = scope.withTypeProvider<TypeBoxTypeProvider>();
    const predict = async (body: { modelIdentifier: string; text: string }, reply: FastifyReply) => {
      const { schema } = await inference.describe(body.modelIdentifier);
      const prediction = await inference.predict(body.modelIdentifier, undefined, [textRecord(body.modelIdentifier, schema, body.text)], { probabilities: true }, call(reply));
      return toPegaResponse(body.modelIdentifier, prediction);
    };
    const schema = {
      tags,
      consumes: ['application/json', 'application/x-www-form-urlencoded'],
      body: PegaBody,
      response: { 200: PegaResponse, 401: Type.Ref('Error'), 403: Type.Ref('Error'), ...errorResponses },
    };
    app.post('/auth/predict', { schema: { ...schema, summary: 'Classify a text (token required)' } }, async (req, reply) => predict(req.body, reply));
    app.post('/noauth/predict', { schema: { ...schema, summary: 'Classify a text with a public deployment or model (no token)' } }, async (req, reply) => predict(req.body, reply));
  });
}
