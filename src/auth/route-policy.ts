import type { FastifyInstance, FastifyRequest, preValidationHookHandler } from 'fastify';
import type { AccessControl, SpaceTarget } from './access-control.js';
import { hasScope } from './authorization.policy.js';
import type { Scope } from './scopes.js';

/** How the policy finds the space a management request acts in. */
export interface SpaceDirectory {
  /** A space by name; throws its own "does not exist" (the same for every caller). */
  space(name: string): Promise<SpaceTarget>;
  /** A deployment's space by id (or by name in the default space); outsiders get its "does not exist". */
  deploymentSpace(idOrName: string): Promise<SpaceTarget>;
  /** A batch job's space by id. */
  jobSpace(id: string): Promise<SpaceTarget>;
  /** The name the single-model routes serve (/predict, /invocations, /info, /features). */
  soleModel(): string;
}

type Check = (request: FastifyRequest) => Promise<unknown> | undefined;

/** A route's access rule, and the scope its OpenAPI `security` names. */
interface Rule {
  check: Check | 'public' | 'self';
  scope?: Scope;
  /** Serving routes: open when the deployment is public or the model is marked public. */
  mayBePublic?: boolean;
}

export type RoutePolicy = Map<string, Rule>;

/** OpenAPI `security` for a rule: any one of the three credentials, with the scope it needs. */
function securityOf(rule: Rule): Record<string, string[]>[] {
  if (rule.check === 'public' || rule.scope === undefined) return [];
  const needed: Record<string, string[]>[] = [{ oauth2: rule.scope ? [rule.scope] : [] }, { apiKey: [] }, { session: [] }];
  return rule.mayBePublic ? [...needed, {}] : needed;
}

interface Params {
  name?: string;
  id?: string;
  space?: string;
}
interface Query {
  space?: string;
  /** Watson ML names the space `space_id`. */
  space_id?: string;
}

const params = (request: FastifyRequest) => request.params as Params;
const query = (request: FastifyRequest) => (request.query ?? {}) as Query;
const spaceIn = (request: FastifyRequest) => query(request).space ?? 'default';

/**
 * Who may call what, for every route but the security domain's own, in one table: a reviewer
 * reads it here rather than in forty route files. A route missing from it needs the `admin`
 * scope (fail closed) and is logged at start-up.
 */
export function buildRoutePolicy(access: AccessControl, spaces: SpaceDirectory): RoutePolicy {
  const scope = (s: Scope): Rule => ({ scope: s, check: (request) => access.require(request, s) });
  // Authenticated and scoped before the space (or the object) is looked up: a caller who could not
  // act there anyway gets the same 401 or 403 whether it exists or not, so neither is an oracle.
  const within = async (request: FastifyRequest, s: Scope, find: (request: FastifyRequest) => Promise<SpaceTarget>) => {
    await access.require(request, s);
    return access.requireIn(request, s, await find(request));
  };
  const inSpace = (s: Scope, find: (request: FastifyRequest) => Promise<SpaceTarget>): Rule => ({ scope: s, check: (request) => within(request, s, find) });
  const querySpace = (s: Scope) => inSpace(s, (request) => spaces.space(spaceIn(request)));
  const pathSpace = (s: Scope) => inSpace(s, (request) => spaces.space(params(request).space!));
  const deployment = (s: Scope) => inSpace(s, (request) => spaces.deploymentSpace(params(request).id!));
  const job = (s: Scope) => inSpace(s, (request) => spaces.jobSpace(params(request).id!));
  const bodySpace = (s: Scope) => inSpace(s, (request) => spaces.space((request.body as Query | undefined)?.space ?? 'default'));
  /** Listing across every space (no `space` given) is for administrators; others name a space they belong to. */
  const listing = (name: (request: FastifyRequest) => string | undefined): Rule => ({
    scope: 'models:read',
    check: async (request) => {
      const space = name(request);
      if (space === undefined) return access.require(request, 'admin');
      return within(request, 'models:read', () => spaces.space(space));
    },
  });
  const serving = (check: Check): Rule => ({ scope: 'predict', check, mayBePublic: true });
  const served = serving((request) => access.serving(request, params(request).name ?? params(request).id!));
  const sole = serving((request) => access.serving(request, spaces.soleModel()));
  const defaultSpace = (s: Scope) => inSpace(s, () => spaces.space('default'));

  const rules: [string, Rule][] = [];
  const add = (methods: string, urls: string[], rule: Rule) => {
    for (const method of methods.split(',')) for (const url of urls) rules.push([`${method} ${url}`, rule]);
  };

  // Health, discovery and the security domain's own routes (which authenticate their callers themselves).
  const open: Rule = { check: 'public' };
  const self: Rule = { check: 'self' };
  add('GET', ['/v2/health/live', '/v2/health/ready', '/v2', '/health', '/ready', '/ping', '/version', '/service-info'], open);
  add('POST', ['/oauth/token', '/oauth/revoke', '/oauth/introspect', '/login', '/logout'], self);
  // Their other methods only ever answer 405 with Allow: POST (method-not-allowed.routes.ts).
  add('GET,PUT,DELETE,PATCH', ['/oauth/token', '/oauth/revoke', '/oauth/introspect', '/login', '/logout'], open);
  add('GET', ['/.well-known/jwks.json'], open);
  add('GET,POST', ['/api/v1/clients', '/api/v1/api-keys'], self);
  add('POST', ['/api/v1/clients/:id/rotate'], self);
  add('DELETE', ['/api/v1/clients/:id', '/api/v1/api-keys/:id'], self);

  // Serving: public deployments and public models are open; otherwise `predict` in their space.
  for (const prefix of ['/v2/models/:name', '/v2/models/:name/versions/:version']) {
    add('GET', [prefix, `${prefix}/ready`], served);
    add('POST', [`${prefix}/infer`, `${prefix}/explain`], served);
  }
  add('POST', ['/models/:name/predict', '/models/:name/explain', '/models/:name/invocations', '/ml/v4/deployments/:id/predictions'], served);
  add('GET', ['/models/:name/info', '/models/:name/features'], served);
  add('POST', ['/predict', '/invocations'], sole);
  add('GET', ['/info', '/features'], sole);
  add('GET', ['/model/:name', '/model/:name/:version'], served);
  add('POST', ['/model/:name/:version/invocation', '/model/:name/invocation/latest', '/model/:name/invocation/best'], served);
  add('GET', ['/model'], defaultSpace('models:read'));
  // The Pega containers' routes: the identifier is in the body.
  const identifier = (request: FastifyRequest) => {
    const id = (request.body as { modelIdentifier?: unknown } | null | undefined)?.modelIdentifier;
    return typeof id === 'string' ? id : undefined;
  };
  add('POST', ['/auth/predict'], { scope: 'predict', check: (request) => access.serving(request, identifier(request), 'token') });
  add('POST', ['/noauth/predict'], { check: (request) => access.serving(request, identifier(request), 'public-only') });
  add('POST', ['/v2/repository/index', '/v2/repository/models/:name/load', '/v2/repository/models/:name/unload'], defaultSpace('models:write'));

  // The registry: `space` in the query (default `default`).
  const models = '/api/v1/models/:name';
  add('GET', ['/api/v1/models', models, `${models}/versions`, `${models}/versions/:version`, `${models}/versions/:version/artifacts/*`, `${models}/aliases`, '/api/v1/resolve'], querySpace('models:read'));
  add('PATCH,DELETE', [models], querySpace('models:write'));
  add('POST', [`${models}/versions`], querySpace('models:write'));
  add('DELETE', [`${models}/versions/:version`], querySpace('models:write'));
  add('PUT,DELETE', [`${models}/aliases/:alias`], querySpace('models:write'));

  // Spaces: anyone signed in lists the spaces they belong to; members read; administrators manage.
  add('GET', ['/api/v1/spaces'], scope('models:read'));
  add('POST', ['/api/v1/spaces'], scope('admin'));
  add('GET', ['/api/v1/spaces/:space', '/api/v1/spaces/:space/members'], pathSpace('models:read'));
  add('PUT,DELETE', ['/api/v1/spaces/:space/members/:user'], pathSpace('admin'));

  // Deployments: their own space, from the body, the query or the deployment itself.
  add('POST', ['/api/v1/deployments'], bodySpace('deployments:write'));
  add('GET', ['/api/v1/deployments'], listing((request) => query(request).space));
  add('GET', ['/api/v1/deployments/:id'], deployment('models:read'));
  add('PATCH,DELETE', ['/api/v1/deployments/:id'], deployment('deployments:write'));
  add('GET', ['/api/v1/runtime/sessions'], scope('admin'));

  // Batch: data assets and schedules by `?space=`, jobs by their own space.
  add('GET', ['/api/v1/assets', '/api/v1/assets/:id', '/api/v1/assets/:id/content', '/api/v1/schedules', '/api/v1/schedules/:id'], querySpace('models:read'));
  add('POST', ['/api/v1/assets', '/api/v1/schedules/:id/pause', '/api/v1/schedules/:id/resume'], querySpace('jobs:write'));
  add('DELETE', ['/api/v1/assets/:id', '/api/v1/schedules/:id'], querySpace('jobs:write'));
  add('POST', ['/api/v1/jobs', '/api/v1/schedules'], bodySpace('jobs:write'));
  add('GET', ['/api/v1/jobs'], listing((request) => query(request).space));
  add('GET', ['/api/v1/jobs/:id', '/api/v1/jobs/:id/events', '/api/v1/jobs/:id/errors', '/ml/v4/deployment_jobs/:id'], job('models:read'));
  add('DELETE', ['/api/v1/jobs/:id', '/ml/v4/deployment_jobs/:id'], job('jobs:write'));
  add('GET', ['/ml/v4/deployment_jobs'], listing((request) => query(request).space_id));
  add('POST', ['/ml/v4/deployment_jobs'], inSpace('jobs:write', (request) =>
    spaces.space((request.body as Query | undefined)?.space_id ?? query(request).space_id ?? 'default')));
  add('GET', ['/api/v1/audit'], scope('admin'));
  return new Map(rules);
}

/** Lists only the spaces a non-administrator belongs to. */
export const memberFilter = (request: FastifyRequest): string | undefined =>
  request.principal && !hasScope(request.principal, 'admin') ? request.principal.user : undefined;

/**
 * Enforces the policy on every request. Public routes pay no promise.
 */
export function registerRoutePolicy(app: FastifyInstance, policy: RoutePolicy, access: AccessControl): void {
  const failClosed: Rule = { scope: 'admin', check: (request) => access.require(request, 'admin') };
  // Each route gets its check as its own first preValidation hook, chosen once here: public routes
  // carry none, and no request pays a table lookup. preValidation: the body is parsed (a credential
  // in it is refused) but not yet checked, so a caller without access learns nothing from
  // validation errors.
  app.addHook('onRoute', (route) => {
    if (route.url.startsWith('/api/docs')) return;
    const checks = new Map<string, Check>();
    for (const method of Array.isArray(route.method) ? route.method : [route.method]) {
      if (method === 'HEAD') continue;
      const rule = policy.get(`${method} ${route.url}`);
      if (!rule) app.log.warn({ method, url: route.url }, 'route has no access rule: it needs the admin scope');
      // The OpenAPI document says what each route needs, so Swagger UI's Authorize button works.
      if (route.schema && route.schema.security === undefined && rule?.check !== 'self') {
        (route.schema as { security?: unknown }).security = securityOf(rule ?? failClosed);
      }
      const { check } = rule ?? failClosed;
      if (check !== 'public' && check !== 'self') checks.set(method, check);
    }
    if (checks.size === 0) return;
    const only = checks.size === 1 ? [...checks.values()][0]! : undefined;
    const hook: preValidationHookHandler = (request, _reply, done) => {
      const check = only ?? checks.get(request.method === 'HEAD' ? 'GET' : request.method);
      const pending = check?.(request);
      if (!pending) return done();
      pending.then(() => done(), done);
    };
    const existing = route.preValidation;
    route.preValidation = existing === undefined ? [hook] : [hook, ...(Array.isArray(existing) ? existing : [existing])];
  });
}
