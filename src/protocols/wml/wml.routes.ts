import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { ProtocolDeps } from '../shared/protocol-deps.js';
import { errorResponses } from '../shared/common.schema.js';
import { toWmlPrediction, wmlRecords } from './wml.mapper.js';
import { WmlBody, WmlParams, WmlQuery, WmlResponse } from './wml.schema.js';

/** Watson Machine Learning v4 online scoring. */
export function registerWmlRoutes(base: FastifyInstance, { inference, call }: ProtocolDeps): void {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  app.post('/ml/v4/deployments/:id/predictions', {
    schema: {
      tags: ['wml'],
      summary: 'Score with an online deployment',
      description: 'Mixed string and numeric columns are mapped through the model\'s features by field name.',
      params: WmlParams,
      querystring: WmlQuery,
      body: WmlBody,
      response: { 200: WmlResponse, ...errorResponses },
    },
  }, async (req, reply) => {
    const { features } = (await inference.describe(req.params.id)).schema;
    const predictions = [];
    for (const [i, entry] of req.body.input_data.entries()) {
      const rowLabel = (row: number) => `input_data[${i}].values[${row}]`;
      predictions.push(toWmlPrediction(await inference.predict(req.params.id, undefined, wmlRecords(entry, i, features), { rowLabel }, call(reply))));
    }
    return { predictions };
  });
}
