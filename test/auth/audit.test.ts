import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EXAMPLES, exampleModels, startServer, type TestServer } from '../helpers/server.js';
import { basic, bearer, createClient, login, postForm, request, send, type Session } from './auth-server.js';

const ADMIN_PASSWORD = 'correct-horse-battery';
const BOB_PASSWORD = 'bob-password-1234';
const WRONG_PASSWORD = 'not-the-password-5678';

interface AuditEvent {
  id: string;
  at: string;
  action: string;
  actor: string | null;
  target: string | null;
  outcome: 'success' | 'failure';
  remote_address: string | null;
  details: Record<string, unknown> | null;
}

/** The whole server with authentication on: every recorded action done over HTTP, the log read back at /api/v1/audit. */
describe('the audit log at GET /api/v1/audit', () => {
  let server: TestServer;
  let admin: Session;
  const secrets: string[] = [];
  const url = (path: string) => `${server.url}${path}`;
  let startedAt: string;
  let deploymentId: string;
  let clientId: string;

  /** Every event, walking the pages with a small limit. */
  async function allEvents(query = ''): Promise<AuditEvent[]> {
    const events: AuditEvent[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 100; page++) {
      const r = await send('GET', url(`/api/v1/audit?limit=3${query}${cursor ? `&cursor=${cursor}` : ''}`), undefined, { cookie: admin.cookie });
      assert.equal(r.status, 200, r.text);
      assert.ok(r.json.items.length <= 3);
      events.push(...r.json.items);
      cursor = r.json.nextCursor;
      if (!cursor) return events;
    }
    throw new Error('too many pages');
  }
  const find = (events: AuditEvent[], action: string, outcome = 'success') => events.filter((e) => e.action === action && e.outcome === outcome);

  before(async () => {
    server = await startServer(exampleModels('iris'), { auth: 'on', adminPassword: ADMIN_PASSWORD });
    startedAt = new Date().toISOString();
    secrets.push(ADMIN_PASSWORD, WRONG_PASSWORD, BOB_PASSWORD);

    // Sign-ins: a failure, then successes.
    assert.equal((await send('POST', url('/login'), { username: 'admin', password: WRONG_PASSWORD })).status, 401);
    admin = await login(server, 'admin', ADMIN_PASSWORD);
    secrets.push(admin.csrf, admin.cookie.split('=')[1]!);

    // Clients: create, rotate, a token issue and a refused one, delete.
    const client = await createClient(server, admin, ['predict']);
    clientId = client.id;
    secrets.push(client.secret);
    const rotated = await send('POST', url(`/api/v1/clients/${client.id}/rotate`), undefined, admin.headers);
    assert.equal(rotated.status, 200);
    secrets.push(rotated.json.client_secret);
    const issued = await postForm(url('/oauth/token'), { grant_type: 'client_credentials', scope: 'predict' }, basic(client.id, rotated.json.client_secret));
    assert.equal(issued.status, 200, issued.text);
    secrets.push(issued.json.access_token);
    assert.equal((await postForm(url('/oauth/token'), { grant_type: 'client_credentials' }, basic(client.id, client.secret))).status, 401, 'the old secret');
    const doomed = await createClient(server, admin, ['predict']);
    secrets.push(doomed.secret);
    assert.equal((await send('DELETE', url(`/api/v1/clients/${doomed.id}`), undefined, admin.headers)).status, 204);

    // API keys: create, exchange, delete.
    const key = await send('POST', url('/api/v1/api-keys'), { name: 'ops', space: 'default', scopes: ['predict', 'models:read', 'models:write', 'deployments:write'] }, admin.headers);
    assert.equal(key.status, 201);
    secrets.push(key.json.api_key);
    const exchanged = await postForm(url('/oauth/token'), { grant_type: 'urn:ibm:params:oauth:grant-type:apikey', apikey: key.json.api_key });
    assert.equal(exchanged.status, 200);
    secrets.push(exchanged.json.access_token);
    const spare = await send('POST', url('/api/v1/api-keys'), { name: 'spare', space: 'default', scopes: ['predict'] }, admin.headers);
    secrets.push(spare.json.api_key);
    assert.equal((await send('DELETE', url(`/api/v1/api-keys/${spare.json.id}`), undefined, admin.headers)).status, 204);

    // Registry and deployments, with the API key (its owner is the actor).
    const ops = bearer(key.json.api_key);
    const form = new FormData();
    form.append('file', new Blob([await readFile(join(EXAMPLES, 'iris/1/model.onnx'))]), 'model.onnx');
    const upload = await request(url('/api/v1/models/iris-copy/versions'), { method: 'POST', body: form, headers: ops });
    assert.equal(upload.status, 201, upload.text);
    assert.equal((await send('PUT', url('/api/v1/models/iris-copy/aliases/production'), { version: 1 }, ops)).status, 200);
    const deployed = await send('POST', url('/api/v1/deployments'), { name: 'iris-live', target: { model: 'iris-copy@production' } }, ops);
    assert.equal(deployed.status, 201, deployed.text);
    deploymentId = deployed.json.id;
    assert.equal((await send('PATCH', url('/api/v1/deployments/iris-live'), { authMode: 'public' }, ops)).status, 200);
    // A refused change is not an event: deleting a deployment that does not exist.
    assert.equal((await send('DELETE', url('/api/v1/deployments/no-such-deployment'), undefined, ops)).status, 404);
    assert.equal((await send('DELETE', url('/api/v1/deployments/iris-live'), undefined, ops)).status, 204);
    assert.equal((await send('DELETE', url('/api/v1/models/iris-copy/aliases/production'), undefined, ops)).status, 204);
    assert.equal((await send('DELETE', url('/api/v1/models/iris-copy/versions/1'), undefined, ops)).status, 204);
    assert.equal((await send('DELETE', url('/api/v1/models/iris-copy'), undefined, ops)).status, 204);

    // Space membership, by the admin session.
    await server.auth.users.create('bob', BOB_PASSWORD);
    assert.equal((await send('POST', url('/api/v1/spaces'), { name: 'team-b' }, admin.headers)).status, 201);
    assert.equal((await send('PUT', url('/api/v1/spaces/team-b/members/bob'), { role: 'editor' }, admin.headers)).status, 200);
  });
  after(() => server.close());

  test('sign-ins are recorded, successes and failures, with the user and the remote address', async () => {
    const events = await allEvents('&action=login');
    const failed = find(events, 'login', 'failure');
    const succeeded = find(events, 'login');
    assert.equal(failed.length, 1);
    assert.equal(failed[0]!.actor, 'admin');
    assert.equal(failed[0]!.remote_address, '127.0.0.1');
    assert.ok(succeeded.some((e) => e.actor === 'admin' && e.remote_address === '127.0.0.1'));
    assert.ok(events.every((e) => e.action === 'login'), 'the action filter holds');
  });

  test('token issues name the client or key and the scopes; refusals the claimed client and the RFC error', async () => {
    const events = await allEvents('&action=token.issue');
    const byClient = find(events, 'token.issue').find((e) => e.actor === clientId);
    assert.ok(byClient, JSON.stringify(events));
    assert.equal(byClient.target, clientId);
    assert.deepEqual(byClient.details, { grant_type: 'client_credentials', scopes: ['predict'] });
    const byKey = find(events, 'token.issue').find((e) => e.details?.grant_type === 'urn:ibm:params:oauth:grant-type:apikey');
    assert.ok(byKey);
    assert.equal(byKey.actor, 'admin', "an exchanged key's token acts for the key's owner");
    assert.match(byKey.target ?? '', /^key_/);
    const refused = find(events, 'token.issue', 'failure');
    assert.equal(refused.length, 1);
    assert.equal(refused[0]!.actor, clientId);
    assert.deepEqual(refused[0]!.details, { grant_type: 'client_credentials', error: 'invalid_client' });
  });

  test('client and API key changes, registry changes, deployments and membership are recorded with their actor and target', async () => {
    const events = await allEvents();
    const one = (action: string) => {
      const matching = find(events, action);
      assert.equal(matching.length, 1, `${action}: ${JSON.stringify(matching)}`);
      return matching[0]!;
    };
    assert.equal(one('client.rotate').target, clientId);
    assert.equal(one('client.rotate').actor, 'admin');
    assert.equal(find(events, 'client.create').length, 2);
    assert.equal(one('client.delete').actor, 'admin');
    assert.deepEqual(find(events, 'client.create').find((e) => e.target === clientId)?.details, { name: 'test-client', scopes: ['predict'], expires_at: null });
    assert.equal(find(events, 'api_key.create').length, 2);
    assert.equal(one('api_key.delete').actor, 'admin');

    const upload = one('version.upload');
    assert.equal(upload.actor, 'admin');
    assert.equal(upload.target, 'default/iris-copy/versions/1');
    assert.deepEqual(one('alias.set').details, { version: 1 });
    const created = one('deployment.create');
    assert.equal(created.target, deploymentId);
    assert.deepEqual(created.details, { name: 'iris-live', space: 'default', target: { model: 'iris-copy@production' } });
    assert.deepEqual(one('deployment.update').details, { authMode: 'public' });
    assert.equal(one('deployment.delete').target, 'iris-live', 'the 404 delete of a missing deployment is not recorded');
    assert.equal(one('alias.delete').target, 'default/iris-copy/aliases/production');
    assert.equal(one('version.delete').target, 'default/iris-copy/versions/1');
    assert.equal(one('model.delete').target, 'default/iris-copy');
    assert.equal(one('space.create').target, 'team-b');
    assert.deepEqual(one('member.set').details, { role: 'editor' });
    assert.equal(one('member.set').target, 'team-b/bob');
    for (const e of events) {
      assert.ok(e.at >= startedAt.slice(0, 19), e.at);
      assert.equal(e.remote_address, '127.0.0.1');
    }
  });

  test('newest first; limit and cursor walk every event exactly once; actor and since filter', async () => {
    const first = await send('GET', url('/api/v1/audit?limit=1000'), undefined, { cookie: admin.cookie });
    assert.equal(first.status, 200);
    const everything: AuditEvent[] = first.json.items;
    assert.equal(first.json.nextCursor, undefined);
    const paged = await allEvents();
    assert.deepEqual(paged.map((e) => e.id), everything.map((e) => e.id));
    assert.equal(new Set(paged.map((e) => e.id)).size, paged.length);
    for (let i = 1; i < everything.length; i++) assert.ok(everything[i - 1]!.at >= everything[i]!.at, 'newest first');

    const byClient = await allEvents(`&actor=${clientId}`);
    assert.ok(byClient.length >= 2 && byClient.every((e) => e.actor === clientId));
    const middle = everything[Math.floor(everything.length / 2)]!;
    const since = await allEvents(`&since=${encodeURIComponent(middle.at)}`);
    assert.ok(since.length > 0 && since.length < everything.length);
    assert.ok(since.every((e) => e.at >= middle.at));
    const nothing = await send('GET', url('/api/v1/audit?action=no.such.action'), undefined, { cookie: admin.cookie });
    assert.deepEqual(nothing.json, { items: [] });
  });

  test('bad parameters are 400', async () => {
    for (const query of ['since=yesterday', 'limit=0', 'limit=1001', 'cursor=not-a-cursor!', 'unknown=1']) {
      const r = await send('GET', url(`/api/v1/audit?${query}`), undefined, { cookie: admin.cookie });
      assert.equal(r.status, 400, `${query}: ${r.text}`);
      assert.equal(r.json.code, 'INVALID_INPUT');
    }
  });

  test('admins only: no credential 401, a signed-in user or a key without admin 403 insufficient_scope', async () => {
    const anonymous = await send('GET', url('/api/v1/audit'), undefined);
    assert.equal(anonymous.status, 401);
    assert.match(anonymous.headers.get('www-authenticate') ?? '', /^Bearer realm="plinth"/);
    const bob = await login(server, 'bob', BOB_PASSWORD);
    const asBob = await send('GET', url('/api/v1/audit'), undefined, { cookie: bob.cookie });
    assert.equal(asBob.status, 403, asBob.text);
    assert.equal(asBob.json.code, 'INSUFFICIENT_SCOPE');
    const key = await send('POST', url('/api/v1/api-keys'), { name: 'reader', space: 'default', scopes: ['models:read', 'models:write', 'deployments:write'] }, admin.headers);
    const asKey = await send('GET', url('/api/v1/audit'), undefined, bearer(key.json.api_key));
    assert.equal(asKey.status, 403);
    assert.match(asKey.headers.get('www-authenticate') ?? '', /error="insufficient_scope", scope="admin"/);
    const adminKey = await send('POST', url('/api/v1/api-keys'), { name: 'auditor', space: 'default', scopes: ['admin'] }, admin.headers);
    assert.equal((await send('GET', url('/api/v1/audit?limit=1'), undefined, bearer(adminKey.json.api_key))).status, 200, 'an admin-scoped key reads it');
  });

  test('no password, secret, token, key, cookie or CSRF token is stored in any event', async () => {
    const everything = JSON.stringify(await allEvents());
    assert.ok(everything.length > 1000, 'the log has content');
    for (const secret of secrets) {
      assert.ok(secret.length >= 16);
      assert.ok(!everything.includes(secret), `a secret is in the audit log: ${secret.slice(0, 6)}...`);
    }
  });

  test('the OpenAPI document lists the route with its parameters', async () => {
    const doc = (await request(url('/api/docs/json'))).json;
    const operation = doc.paths['/api/v1/audit']?.get;
    assert.ok(operation, 'GET /api/v1/audit is documented');
    assert.deepEqual(operation.parameters.map((p: { name: string }) => p.name).sort(), ['action', 'actor', 'cursor', 'limit', 'since']);
    assert.ok(JSON.stringify(operation.security).includes('admin'));
  });
});
