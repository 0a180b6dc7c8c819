import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { DEFAULT_LIMIT, PageOf, PageQueryFields, pageLimit } from '../protocols/management/pagination.schema.js';
import type { AuditEventRow } from '../storage/auth-ports.js';
import type { AuditService } from './audit.service.js';
import { MANAGEMENT_SECURITY } from './auth.schema.js';

const AuditEvent = Type.Object({
  id: Type.String(),
  at: Type.String({ format: 'date-time' }),
  action: Type.String({ examples: ['login', 'token.issue', 'client.create', 'deployment.update', 'version.upload'] }),
  actor: Type.Union([Type.String(), Type.Null()], { description: 'The user who acted (for token requests: the client id, or the API key owner); null when unknown' }),
  target: Type.Union([Type.String(), Type.Null()], { description: "What was acted on: a client or key id, 'space/model', a deployment id" }),
  outcome: Type.Union([Type.Literal('success'), Type.Literal('failure')]),
  remote_address: Type.Union([Type.String(), Type.Null()], { description: 'request.ip: the peer, or the forwarded client address with PLINTH_TRUST_PROXY' }),
  details: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()], { description: 'Names, scopes, grant type, error code: never a secret' }),
});

const AuditQuery = Type.Object(
  {
    ...PageQueryFields,
    action: Type.Optional(Type.String({ minLength: 1, maxLength: 60, description: 'Only this action', examples: ['login'] })),
    actor: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Only this actor', examples: ['admin'] })),
    since: Type.Optional(Type.String({ minLength: 1, maxLength: 40, description: 'Only events at or after this ISO-8601 date-time', examples: ['2025-01-31T00:00:00Z'] })),
  },
  { additionalProperties: false },
);

const view = (e: AuditEventRow) => ({
  id: e.id,
  at: e.at,
  action: e.action,
  actor: e.actor,
  target: e.target,
  outcome: e.outcome,
  remote_address: e.remoteAddress,
  details: e.details,
});

/** GET /api/v1/audit: the audit log, newest first; the route policy gives it to the `admin` scope only. */
export function registerAuditRoutes(base: FastifyInstance, audit: AuditService): void {
  const ref = Type.Ref('Error');
  base.withTypeProvider<TypeBoxTypeProvider>().get(
    '/api/v1/audit',
    {
      schema: {
        tags: ['auth'],
        summary: 'The audit log, newest first (admin scope)',
        description:
          'Sign-ins (success and failure), token issues and refusals, client and API key changes, deployment changes, uploads and deletions. ' +
          'Filter by action, actor and since; pages with limit and cursor.',
        security: MANAGEMENT_SECURITY,
        querystring: AuditQuery,
        response: { 200: PageOf(AuditEvent), 400: ref, 401: ref, 403: ref },
      },
    },
    async (req) => {
      const { limit, cursor, action, actor, since } = req.query;
      const page = await audit.list({ limit: pageLimit(limit) ?? DEFAULT_LIMIT, cursor, action, actor, since });
      return { items: page.items.map(view), ...(page.nextCursor && { nextCursor: page.nextCursor }) };
    },
  );
}
