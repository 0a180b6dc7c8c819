import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { DeploymentService } from '../../registry/deployment.service.js';
import type { SessionBudget } from '../../runtime/session-budget.js';
import type { DeploymentRow } from '../../storage/ports.js';
import { errorResponses } from '../shared/common.schema.js';
import {
  CreateDeploymentBody,
  DeploymentList,
  DeploymentListQuery,
  DeploymentParams,
  DeploymentResponse,
  SessionStats,
  UpdateDeploymentBody,
} from './deployments.schema.js';
import { etagOf, parseIfMatch } from './etag.js';

export interface DeploymentRouteDeps {
  deployments: DeploymentService;
  budget: SessionBudget;
}

const tags = ['deployments'];
const conflict = { 409: Type.Ref('Error'), 412: Type.Ref('Error') };

/** Online deployments under /api/v1/deployments, and the session cache's figures. */
export function registerDeploymentRoutes(base: FastifyInstance, { deployments, budget }: DeploymentRouteDeps): void {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();

  const find = (idOrName: string): Promise<DeploymentRow> => deployments.findByIdOrName(idOrName);

  app.post('/api/v1/deployments', {
    schema: {
      tags,
      summary: 'Create an online deployment',
      description: 'Loads the target version(s) before answering: the deployment comes back `ready`, or `failed` with the reason.',
      body: CreateDeploymentBody,
      response: { 201: DeploymentResponse, ...errorResponses, ...conflict },
    },
  }, async (req, reply) => {
    const row = await deployments.create(req.body);
    reply.header('etag', etagOf(row.revision)).header('location', `/api/v1/deployments/${row.id}`);
    return reply.status(201).send(await deployments.view(row));
  });

  app.get('/api/v1/deployments', {
    schema: { tags, summary: 'List deployments', querystring: DeploymentListQuery, response: { 200: DeploymentList, ...errorResponses } },
  }, async (req) => {
    const { name, limit, ...rest } = req.query;
    const page = await deployments.list({ ...rest, namePrefix: name, limit: limit === undefined ? undefined : Number(limit) });
    return { items: await Promise.all(page.items.map((row) => deployments.view(row))), ...(page.nextCursor && { nextCursor: page.nextCursor }) };
  });

  app.get('/api/v1/deployments/:id', {
    schema: { tags, summary: 'A deployment: status, target, traffic per version, endpoint URLs', params: DeploymentParams, response: { 200: DeploymentResponse, ...errorResponses } },
  }, async (req, reply) => {
    const row = await find(req.params.id);
    reply.header('etag', etagOf(row.revision));
    return deployments.view(row);
  });

  app.patch('/api/v1/deployments/:id', {
    schema: {
      tags,
      summary: 'Change the target, canary split, runtime, auth mode or description',
      description: 'A new target loads first and traffic switches over atomically; requests in flight finish on the old version. Send If-Match with the ETag to refuse lost updates (412).',
      params: DeploymentParams,
      headers: Type.Object({ 'if-match': Type.Optional(Type.String({ examples: ['"3"'] })) }),
      body: UpdateDeploymentBody,
      response: { 200: DeploymentResponse, ...errorResponses, ...conflict },
    },
  }, async (req, reply) => {
    const current = await find(req.params.id);
    const row = await deployments.update(current.id, req.body, parseIfMatch(req.headers['if-match']));
    reply.header('etag', etagOf(row.revision));
    return deployments.view(row);
  });

  app.delete('/api/v1/deployments/:id', {
    schema: { tags, summary: 'Delete a deployment (its sessions are released)', params: DeploymentParams, response: { 204: Type.Null(), ...errorResponses } },
  }, async (req, reply) => {
    await deployments.delete((await find(req.params.id)).id);
    return reply.status(204).send(null);
  });

  app.get('/api/v1/runtime/sessions', {
    schema: { tags: ['runtime'], summary: 'Loaded sessions against the memory budget: evictions and reloads', response: { 200: SessionStats } },
  }, async () => budget.stats());
}
