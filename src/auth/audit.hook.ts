import type { FastifyInstance, FastifyReply, FastifyRequest, onSendHookHandler } from 'fastify';
import { auditRequest, type AuditRecord, type AuditService } from './audit.service.js';

type Event = Omit<AuditRecord, 'actor' | 'outcome' | 'remoteAddress'>;
type Describe = (request: FastifyRequest, reply: FastifyReply) => Event;

interface Params {
  name?: string;
  id?: string;
  version?: string;
  alias?: string;
  space?: string;
  user?: string;
}

const paramsOf = (request: FastifyRequest) => (request.params ?? {}) as Params;
const bodyOf = (request: FastifyRequest) => (request.body && typeof request.body === 'object' ? (request.body as Record<string, unknown>) : {});
const spaceOf = (request: FastifyRequest) => {
  const query = (request.query ?? {}) as { space?: unknown };
  return typeof query.space === 'string' ? query.space : 'default';
};
/** `<space>/<model>`, the registry's own way of naming a model. */
const model = (request: FastifyRequest) => `${spaceOf(request)}/${paramsOf(request).name}`;
const header = (reply: FastifyReply, name: string) => {
  const value = reply.getHeader(name);
  return typeof value === 'string' ? value : undefined;
};

/**
 * Registry and deployment changes worth an audit event, by the route policy's key (method and
 * route URL). The events come from this table rather than from the registry services, which stay
 * unaware of HTTP callers: the route knows the caller (request.principal, set by the route
 * policy) and the address, the services do not. Request bodies here hold no secrets (references,
 * versions, roles); AuditService drops any key that sounds like one all the same.
 */
const EVENTS = new Map<string, Describe>([
  [
    'POST /api/v1/deployments',
    (request, reply) => {
      const { name, space, target, authMode } = bodyOf(request);
      const id = header(reply, 'location')?.split('/').pop();
      return { action: 'deployment.create', target: id ?? (typeof name === 'string' ? name : null), details: { name, space: space ?? 'default', target, authMode } };
    },
  ],
  ['PATCH /api/v1/deployments/:id', (request) => ({ action: 'deployment.update', target: paramsOf(request).id, details: bodyOf(request) })],
  ['DELETE /api/v1/deployments/:id', (request) => ({ action: 'deployment.delete', target: paramsOf(request).id })],
  ['PATCH /api/v1/models/:name', (request) => ({ action: 'model.update', target: model(request), details: { fields: Object.keys(bodyOf(request)) } })],
  ['DELETE /api/v1/models/:name', (request) => ({ action: 'model.delete', target: model(request) })],
  [
    'POST /api/v1/models/:name/versions',
    (request, reply) => {
      const version = /\/versions\/([0-9]+)/.exec(header(reply, 'location') ?? '')?.[1];
      return { action: 'version.upload', target: version ? `${model(request)}/versions/${version}` : model(request), details: { version: version ? Number(version) : null } };
    },
  ],
  ['DELETE /api/v1/models/:name/versions/:version', (request) => ({ action: 'version.delete', target: `${model(request)}/versions/${paramsOf(request).version}` })],
  ['PUT /api/v1/models/:name/aliases/:alias', (request) => ({ action: 'alias.set', target: `${model(request)}/aliases/${paramsOf(request).alias}`, details: { version: bodyOf(request).version } })],
  ['DELETE /api/v1/models/:name/aliases/:alias', (request) => ({ action: 'alias.delete', target: `${model(request)}/aliases/${paramsOf(request).alias}` })],
  ['POST /api/v1/spaces', (request) => ({ action: 'space.create', target: String(bodyOf(request).name) })],
  ['PUT /api/v1/spaces/:space/members/:user', (request) => ({ action: 'member.set', target: `${paramsOf(request).space}/${paramsOf(request).user}`, details: { role: bodyOf(request).role } })],
  ['DELETE /api/v1/spaces/:space/members/:user', (request) => ({ action: 'member.delete', target: `${paramsOf(request).space}/${paramsOf(request).user}` })],
  ['POST /v2/repository/models/:name/load', (request) => ({ action: 'model.load', target: `default/${paramsOf(request).name}` })],
  ['POST /v2/repository/models/:name/unload', (request) => ({ action: 'model.unload', target: `default/${paramsOf(request).name}` })],
]);

/** The audit actions recorded for management routes (for docs and tests). */
export const MANAGEMENT_AUDIT_ROUTES: readonly string[] = [...EVENTS.keys()];

/**
 * Records the successful (2xx) state-changing management requests above. An onSend hook, so the
 * event is written before the caller sees the answer (a client that reads the audit log right
 * after gets it); every other request passes through synchronously, without a promise.
 */
export function registerAuditTrail(app: FastifyInstance, audit: AuditService): void {
  // Only the audited routes get the hook (chosen once, per route): serving routes pay nothing.
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const audited = new Map(methods.flatMap((m) => (EVENTS.has(`${m} ${route.url}`) ? [[m, EVENTS.get(`${m} ${route.url}`)!] as const] : [])));
    if (audited.size === 0) return;
    const hook = auditHook(audit, audited);
    const existing = route.onSend;
    route.onSend = existing === undefined ? [hook] : [...(Array.isArray(existing) ? existing : [existing]), hook];
  });
}

function auditHook(audit: AuditService, audited: Map<string, Describe>): onSendHookHandler {
  return (request, reply, payload, done) => {
    const describe = audited.get(request.method);
    if (!describe || reply.statusCode < 200 || reply.statusCode >= 300) return done(null, payload);
    let event: Event;
    try {
      event = describe(request, reply);
    } catch (err) {
      request.log.error({ err }, 'audit event not recorded');
      return done(null, payload);
    }
    void auditRequest(audit, request, { actor: request.principal?.user ?? null, ...event }).then(() => done(null, payload));
  };
}
