import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { AccessControl } from '../../src/auth/access-control.js';
import { buildRoutePolicy, type SpaceDirectory } from '../../src/auth/route-policy.js';
import { breastCancer } from '../jobs/jobs-http.js';
import { readResponse, type Reply } from '../helpers/server.js';
import { assertSameAsMissing, startTwoSpaces, type TwoSpaces } from './two-spaces.js';

/**
 * Every route the server has, called with a credential of another space (alice's key of team-a)
 * and team-b's real ids and names: 404 or 403 everywhere, and the same answer as for ids and
 * names that exist nowhere, except on the routes listed here as public by design or as answering
 * only about the caller. A route added without an access rule, or made public, fails this test
 * until it is listed.
 */

/** Public by design: health, discovery, docs, the token endpoints and the console login. */
const PUBLIC = [
  'GET /v2/health/live', 'GET /v2/health/ready', 'GET /v2', 'GET /health', 'GET /ready', 'GET /ping', 'GET /version', 'GET /service-info',
  'GET /.well-known/jwks.json', 'POST /oauth/token', 'POST /oauth/revoke', 'POST /oauth/introspect', 'POST /login', 'POST /logout',
  // The other methods of the POST-only endpoints: 405 with Allow: POST, whoever asks.
  ...['GET', 'PUT', 'DELETE', 'PATCH'].flatMap((m) => ['/oauth/token', '/oauth/revoke', '/oauth/introspect', '/login', '/logout'].map((u) => `${m} ${u}`)),
];
/** The OpenAPI document and Swagger UI (outside the route policy; they describe, never act). */
const DOCS = /^GET \/api\/docs(\/|$)/;
/** Routes that answer about the caller only (their own clients, keys, spaces): whatever they answer never names team-b's objects. */
const OWN = ['GET /api/v1/clients', 'POST /api/v1/clients', 'GET /api/v1/api-keys', 'GET /api/v1/spaces'];
/** Routes whose rule authenticates the caller itself ('self'), but that take a reference: walked as the others. */
const SELF_WITH_REFERENCE = ['POST /api/v1/api-keys', 'POST /api/v1/clients/:id/rotate', 'DELETE /api/v1/clients/:id', 'DELETE /api/v1/api-keys/:id'];
/** Serves only what is public (for everyone else a 401 that says to use /auth/predict). */
const PUBLIC_ONLY = 'POST /noauth/predict';

/** Name an object to create in the caller's own space, so team-b's name there is no reference to team-b. */
const CREATES = ['POST /api/v1/models/:name/versions'];

/** `app.printRoutes({commonPrefix: false})` as [method, url] pairs (HEAD left out: it is GET's). */
function parseRoutes(tree: string): [string, string][] {
  const routes: [string, string][] = [];
  const stack: string[] = [];
  for (const line of tree.split('\n')) {
    const at = line.search(/[├└]── /);
    if (at < 0) continue;
    const depth = at / 4;
    const [, segment, methods] = /^(.*?)(?: \(([A-Z, ]+)\))?$/.exec(line.slice(at + 4))!;
    stack[depth] = (depth > 0 ? stack[depth - 1] : '') + segment;
    for (const method of methods?.split(', ') ?? []) if (method !== 'HEAD') routes.push([method, stack[depth]!]);
  }
  return routes;
}

/**
 * Every route of the app: printRoutes, whose tree (find-my-way 9) prints a wildcard below a static
 * segment without that segment (`/:version` then `*` for `/:version/artifacts/*`), repaired from the
 * OpenAPI document's paths; each one is checked with hasRoute, so a route this cannot read fails.
 */
async function routeTable(server: TwoSpaces['server']): Promise<[string, string][]> {
  const doc = (await (await fetch(`${server.url}/api/docs/json`)).json()) as { paths: Record<string, Record<string, unknown>> };
  const documented = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.keys(ops).map((m) => [m.toUpperCase(), path.replaceAll('{*}', '*').replace(/\{([^}]+)\}/g, ':$1')] as const));
  return parseRoutes(server.app.printRoutes({ commonPrefix: false }))
    .filter(([m, u]) => !DOCS.test(`${m} ${u}`))
    .map(([m, u]): [string, string] => {
      // (hasRoute cannot tell: it takes `/:version*` for a route of its own.)
      if (!u.endsWith('*') || documented.some(([dm, du]) => dm === m && du === u)) return [m, u];
      const repaired = documented.find(([dm, du]) => dm === m && du.endsWith('*') && du.startsWith(u.slice(0, -1)));
      return repaired ? [m, repaired[1]] : [m, u];
    });
}

interface Refs {
  space: string;
  model: string;
  online: { id: string; name: string };
  batch: string;
  job: string;
  asset: { id: string; name: string };
  schedule: string;
  client: string;
  apiKey: string;
  user: string;
}

/** What each path parameter names, by route. */
function fill(url: string, r: Refs): string {
  const id = url.startsWith('/api/v1/deployments/') || url.startsWith('/ml/v4/deployments/') ? r.online.id
    : url.startsWith('/api/v1/jobs/') || url.startsWith('/ml/v4/deployment_jobs/') ? r.job
    : url.startsWith('/api/v1/assets/') ? r.asset.id
    : url.startsWith('/api/v1/schedules/') ? r.schedule
    : url.startsWith('/api/v1/clients/') ? r.client
    : url.startsWith('/api/v1/api-keys/') ? r.apiKey
    : undefined;
  const name = url.startsWith('/api/v1/models/') || url.startsWith('/v2/repository/') ? r.model : r.online.name;
  return url
    .replace(':id', id ?? 'unexpected-id-param')
    .replace(':name', name)
    .replace(':version', '1')
    .replace(':alias', 'production')
    .replace(':space', r.space)
    .replace(':user', r.user)
    .replace('*', 'model.onnx');
}

const bc = breastCancer();
const record = Object.fromEntries(bc.features.map((f, i) => [f, Number(bc.lines[0]!.split(',')[i])]));
const v2 = { inputs: [{ name: 'input', shape: [1, 30], datatype: 'FP32', data: bc.lines[0]!.split(',').map(Number) }] };

/** Bodies that reach each route's references (valid, so a route that authorises the caller goes on to look them up). */
function bodyOf(route: string, r: Refs, space: string | undefined): unknown {
  const job = { deployment: r.batch, input: { asset: r.asset.name } };
  const bodies: Record<string, unknown> = {
    'POST /api/v1/jobs': { ...(space && { space }), ...job, input: { asset: r.asset.id } },
    'POST /api/v1/schedules': { ...(space && { space }), name: `walk-${randomUUID().slice(0, 8)}`, cron: '0 4 * * *', paused: true, job },
    'POST /ml/v4/deployment_jobs': { ...(space && { space_id: space }), deployment: { id: r.batch }, scoring: { input_data_references: [{ type: 'data_asset', location: { id: r.asset.id } }] } },
    'POST /api/v1/deployments': { ...(space && { space }), name: 'walk-deployment', kind: 'batch', target: { model: r.model } },
    'PATCH /api/v1/deployments/:id': { description: 'walked' },
    'PATCH /api/v1/models/:name': { description: 'walked' },
    'PUT /api/v1/models/:name/aliases/:alias': { version: 1 },
    'POST /api/v1/api-keys': { name: 'walk', space: space ?? 'default', scopes: ['predict'] },
    'POST /api/v1/clients': { name: 'walk', scopes: ['predict'] },
    'POST /api/v1/spaces': { name: 'walk-space' },
    'PUT /api/v1/spaces/:space/members/:user': { role: 'viewer' },
    'POST /auth/predict': { modelIdentifier: r.online.name, text: 'x' },
    'POST /noauth/predict': { modelIdentifier: r.online.name, text: 'x' },
    'POST /ml/v4/deployments/:id/predictions': { input_data: [{ fields: bc.features, values: [bc.lines[0]!.split(',').map(Number)] }] },
  };
  if (route in bodies) return bodies[route];
  if (route.endsWith('/infer') || route.endsWith('/explain') && route.startsWith('POST /v2/')) return v2;
  if (route.startsWith('POST /v2/repository/')) return {};
  if (route.startsWith('POST ')) return [record].length === 1 && route.includes('invocation') ? { dataframe_records: [record] } : record;
  return undefined;
}

/** Routes that name an object of team-b beyond the space itself: a path parameter, a body or query reference. */
const takesReference = (route: string) => !CREATES.includes(route) && route.includes(':') || route.includes('*') || /^POST \/(api\/v1\/(jobs|schedules|deployments|api-keys)|ml\/v4\/deployment_jobs|auth\/predict|noauth\/predict)$/.test(route) || route === 'GET /api/v1/resolve';

describe('the whole route table, walked with a credential of another space', () => {
  let s: TwoSpaces;
  let routes: [string, string][];
  let B: Refs;
  let missing: Refs;

  before(async () => {
    s = await startTwoSpaces();
    routes = await routeTable(s.server);
    B = {
      space: 'team-b', model: s.b.model, online: s.b.online, batch: s.b.batch.id, job: s.b.job.id, asset: s.b.asset,
      schedule: s.b.schedule.id, client: s.b.clientId, apiKey: s.b.apiKeyId, user: 'bob',
    };
    const id = () => randomUUID();
    missing = {
      space: 'team-z', model: 'no-such-model', online: { id: id(), name: 'no-such-deployment' }, batch: id(), job: id(), asset: { id: id(), name: 'no-such-asset.csv' },
      schedule: id(), client: id(), apiKey: id(), user: 'nobody',
    };
  });
  after(() => s.server.close());

  const pairs = (): [string, string][] => {
    const keys = Object.keys(B) as (keyof Refs)[];
    return keys.flatMap((k) => {
      const [b, m] = [B[k], missing[k]];
      return typeof b === 'string' ? [[b, m as string]] : Object.keys(b).map((f) => [(b as never)[f], (m as never)[f]] as [string, string]);
    });
  };

  async function call(method: string, url: string, route: string, refs: Refs, space: string | undefined, key: Record<string, string>): Promise<Reply> {
    const param = url.startsWith('/ml/') ? 'space_id' : 'space';
    const query = new URLSearchParams(space ? { [param]: space } : {});
    if (route === 'GET /api/v1/resolve') query.set('reference', `models:/${refs.model}/1`);
    const target = `${s.server.url}${fill(url, refs)}${query.size ? `?${query}` : ''}`;
    if (route === 'POST /api/v1/assets' || route === 'POST /api/v1/models/:name/versions') {
      const form = new FormData();
      form.append('file', new Blob([bc.header + '\n' + bc.lines[0] + '\n']), route.includes('assets') ? 'walk.csv' : 'model.onnx');
      return readResponse(await fetch(target, { method, body: form, headers: key }));
    }
    const body = bodyOf(route, refs, space);
    return readResponse(await fetch(target, {
      method,
      redirect: 'manual',
      headers: body === undefined ? key : { ...key, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    }));
  }

  test('the route table as the server has it: every route has an access rule, and only the listed ones are public', () => {
    assert.ok(routes.length > 80, `${routes.length} routes parsed`);
    for (const [method, url] of routes) assert.ok(s.server.app.hasRoute({ method: method as 'GET', url }), `${method} ${url} parsed from printRoutes`);
    // The table as app.ts builds it; its checks are never called here, only read.
    const policy = buildRoutePolicy({} as AccessControl, {} as SpaceDirectory);
    const names = routes.map(([m, u]) => `${m} ${u}`);
    const unruled = names.filter((r) => !policy.has(r));
    assert.deepEqual(unruled, [], 'routes without an access rule (they would need admin, and no reviewer would see them in route-policy.ts)');
    const open = names.filter((r) => ['public', 'self'].includes(policy.get(r)!.check as string));
    assert.deepEqual(open.sort(), [...PUBLIC, ...OWN.filter((r) => policy.get(r)?.check === 'self'), ...SELF_WITH_REFERENCE].sort(), 'routes that carry no access check of the policy');
  });

  /** Calls a route with team-b's references and with missing ones; collects what is wrong. */
  async function walk(label: string, key: Record<string, string>, space: (real: boolean) => string | undefined, only: (route: string) => boolean): Promise<string[]> {
    const failures: string[] = [];
    const secrets = pairs().map(([b]) => b).filter((b) => b !== 'bob');
    // Deletions last: a hole would otherwise change what the later calls find.
    const ordered = [...routes].sort(([a], [b]) => Number(a === 'DELETE') - Number(b === 'DELETE'));
    for (const [method, url] of ordered) {
      const route = `${method} ${url}`;
      if (PUBLIC.includes(route) || !only(route)) continue;
      const foreign = await call(method, url, route, B, space(true), key);
      if (OWN.includes(route)) {
        if (foreign.status >= 500 || secrets.some((x) => foreign.text.includes(x))) failures.push(`${label} ${route}: ${foreign.status} ${foreign.text.slice(0, 300)}`);
        continue;
      }
      const absent = await call(method, url, route, missing, space(false), key);
      try {
        if (route === PUBLIC_ONLY && foreign.status === 401) assert.equal(foreign.text.replaceAll(B.online.name, '<ref>'), absent.text.replaceAll(missing.online.name, '<ref>'));
        else assertSameAsMissing(foreign, absent, pairs(), route);
      } catch (err) {
        failures.push(`${label} ${(err as Error).message.split('\n').slice(0, 6).join(' ')}`);
      }
    }
    return failures;
  }

  test("team-a's key, asking in team-b: every route is 404 or 403, as for a space and objects that do not exist", async () => {
    assert.deepEqual(await walk('team-b', s.keys.alice, (real) => (real ? 'team-b' : 'team-z'), () => true), []);
  });

  test("team-a's key, asking in its own space for team-b's objects: 404 or 403, as for missing ones", async () => {
    assert.deepEqual(await walk('team-a', s.keys.alice, () => 'team-a', takesReference), []);
  });

  test("a default-space key naming no space, for team-b's objects: 404 or 403, as for missing ones", async () => {
    assert.deepEqual(await walk('default', s.keys.carol, () => undefined, takesReference), []);
  });
});
