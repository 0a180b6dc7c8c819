import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../helpers/server.js';
import { send } from './registry-http.js';

describe('spaces and members over HTTP', () => {
  let server: TestServer;
  const url = (path: string) => `${server.url}${path}`;
  before(async () => {
    server = await startServer({});
  });
  after(() => server.close());

  test('create answers 201 with a Location; a duplicate is 409; bad names and fields are 400', async () => {
    const r = await send('POST', url('/api/v1/spaces'), { name: 'credit', description: 'Credit risk models' });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.headers.get('location'), '/api/v1/spaces/credit');
    assert.equal(r.json.name, 'credit');
    assert.equal(r.json.description, 'Credit risk models');
    assert.match(r.json.createdAt, /^\d{4}-\d\d-\d\dT/);

    const dup = await send('POST', url('/api/v1/spaces'), { name: 'credit' });
    assert.equal(dup.status, 409, dup.text);
    assert.equal(dup.json.code, 'CONFLICT');
    assert.match(dup.json.error, /space 'credit' already exists/);

    const badName = await send('POST', url('/api/v1/spaces'), { name: '../etc' });
    assert.equal(badName.status, 400, badName.text);
    assert.match(badName.json.error, /space name '\.\.\/etc' is invalid/);
    const extra = await send('POST', url('/api/v1/spaces'), { name: 'x', owner: 'me' });
    assert.equal(extra.status, 400, extra.text);
    assert.match(extra.json.error, /owner/);
    assert.equal((await send('POST', url('/api/v1/spaces'), { description: 'no name' })).status, 400);
  });

  test('get one; unknown is 404; list pages with limit and cursor and filters by name prefix', async () => {
    const one = await send('GET', url('/api/v1/spaces/credit'));
    assert.equal(one.status, 200, one.text);
    assert.equal(one.json.name, 'credit');
    const missing = await send('GET', url('/api/v1/spaces/nope'));
    assert.equal(missing.status, 404, missing.text);
    assert.match(missing.json.error, /space 'nope' does not exist/);

    for (const name of ['credit-eu', 'credit-us']) assert.equal((await send('POST', url('/api/v1/spaces'), { name })).status, 201);
    const all = await send('GET', url('/api/v1/spaces'));
    assert.deepEqual(all.json.items.map((s: { name: string }) => s.name), ['credit', 'credit-eu', 'credit-us', 'default']);
    assert.equal('nextCursor' in all.json, false);

    const names: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await send('GET', url(`/api/v1/spaces?limit=3${cursor ? `&cursor=${cursor}` : ''}`));
      assert.equal(page.status, 200, page.text);
      names.push(...page.json.items.map((s: { name: string }) => s.name));
      cursor = page.json.nextCursor;
      pages++;
    } while (cursor);
    assert.equal(pages, 2);
    assert.deepEqual(names, ['credit', 'credit-eu', 'credit-us', 'default']);

    const prefixed = await send('GET', url('/api/v1/spaces?name=credit-'));
    assert.deepEqual(prefixed.json.items.map((s: { name: string }) => s.name), ['credit-eu', 'credit-us']);
    assert.equal((await send('GET', url('/api/v1/spaces?limit=0'))).status, 400);
  });

  test('members: add, change role, list in pages, remove; bad roles and unknown members refused', async () => {
    for (const [user, role] of [['carol', 'viewer'], ['alice', 'editor'], ['bob', 'viewer']]) {
      const r = await send('PUT', url(`/api/v1/spaces/credit/members/${user}`), { role });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json, { space: 'credit', user, role });
    }
    const promoted = await send('PUT', url('/api/v1/spaces/credit/members/alice'), { role: 'admin' });
    assert.deepEqual(promoted.json, { space: 'credit', user: 'alice', role: 'admin' });

    const list = await send('GET', url('/api/v1/spaces/credit/members'));
    assert.equal(list.status, 200, list.text);
    assert.deepEqual(list.json.items, [
      { space: 'credit', user: 'alice', role: 'admin' },
      { space: 'credit', user: 'bob', role: 'viewer' },
      { space: 'credit', user: 'carol', role: 'viewer' },
    ]);
    const first = await send('GET', url('/api/v1/spaces/credit/members?limit=2'));
    assert.deepEqual(first.json.items.map((m: { user: string }) => m.user), ['alice', 'bob']);
    const second = await send('GET', url(`/api/v1/spaces/credit/members?limit=2&cursor=${first.json.nextCursor}`));
    assert.deepEqual(second.json.items.map((m: { user: string }) => m.user), ['carol']);
    assert.equal('nextCursor' in second.json, false);
    assert.equal((await send('GET', url('/api/v1/spaces/credit/members?cursor=abc'))).status, 400, 'a cursor that is not ours');

    const badRole = await send('PUT', url('/api/v1/spaces/credit/members/dave'), { role: 'owner' });
    assert.equal(badRole.status, 400, badRole.text);
    assert.match(badRole.json.error, /admin, editor, viewer/);
    const noSpace = await send('PUT', url('/api/v1/spaces/nope/members/dave'), { role: 'viewer' });
    assert.equal(noSpace.status, 404, noSpace.text);
    assert.deepEqual((await send('GET', url('/api/v1/spaces/credit-eu/members'))).json.items, [], 'members belong to one space');

    assert.equal((await send('DELETE', url('/api/v1/spaces/credit/members/bob'))).status, 204);
    const again = await send('DELETE', url('/api/v1/spaces/credit/members/bob'));
    assert.equal(again.status, 404, again.text);
    assert.match(again.json.error, /user 'bob' is not a member of space 'credit'/);
    assert.deepEqual((await send('GET', url('/api/v1/spaces/credit/members'))).json.items.map((m: { user: string }) => m.user), ['alice', 'carol']);
  });

  test('spaces and members survive a restart', async () => {
    const { buildApp } = await import('../../src/app.js');
    const { loadConfig } = await import('../../src/config/config.js');
    const { join } = await import('node:path');
    const config = loadConfig({ modelsDir: server.dir, dataDir: join(server.dir, '.data'), logLevel: 'silent', auth: 'off' }, {});
    await server.app.close();
    const again = await buildApp(config);
    try {
      const spaces = await again.app.inject({ method: 'GET', url: '/api/v1/spaces?name=credit' });
      assert.deepEqual(spaces.json().items.map((s: { name: string }) => s.name), ['credit', 'credit-eu', 'credit-us']);
      const members = await again.app.inject({ method: 'GET', url: '/api/v1/spaces/credit/members' });
      assert.deepEqual(members.json().items.map((m: { user: string; role: string }) => `${m.user}:${m.role}`), ['alice:admin', 'carol:viewer']);
    } finally {
      await again.app.close();
    }
  });
});
