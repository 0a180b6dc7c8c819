import { test } from 'node:test';
import assert from 'node:assert/strict';
import { authorize, roleIn } from '../../src/auth/authorization.policy.js';
import type { Principal } from '../../src/auth/principal.js';
import { parseScopeParam, SCOPES, type Scope } from '../../src/auth/scopes.js';

const principal = (scopes: Scope[], spaceRoles: Principal['spaceRoles'] = {}): Principal => ({ subject: 's', kind: 'api_key', user: 'u', scopes, spaceRoles });
const allow = { allow: true };
const refuse = (scope: Scope) => ({ allow: false, status: 403, error: 'insufficient_scope', scope });

test('the scope list of the issue', () => {
  assert.deepEqual([...SCOPES], ['predict', 'models:read', 'models:write', 'deployments:write', 'jobs:write', 'admin']);
});

test('server-wide actions: the scope decides; admin implies every scope', () => {
  assert.deepEqual(authorize(principal(['predict']), 'predict'), allow);
  assert.deepEqual(authorize(principal(['predict']), 'models:write'), refuse('models:write'));
  assert.deepEqual(authorize(principal(['predict']), 'admin'), refuse('admin'));
  assert.deepEqual(authorize(principal(['admin']), 'jobs:write'), allow);
});

test('inside a space: each role allows its own set, and the scope is needed as well', () => {
  const all = principal(['predict', 'models:read', 'models:write', 'deployments:write', 'jobs:write']);
  const expected: Record<string, Scope[]> = {
    viewer: ['predict', 'models:read'],
    editor: ['predict', 'models:read', 'models:write', 'deployments:write', 'jobs:write'],
    admin: ['predict', 'models:read', 'models:write', 'deployments:write', 'jobs:write'],
  };
  for (const [role, allowed] of Object.entries(expected)) {
    for (const scope of all.scopes) {
      assert.deepEqual(authorize(all, scope, role as 'viewer'), allowed.includes(scope) ? allow : refuse(scope), `${role} ${scope}`);
    }
  }
  assert.deepEqual(authorize(principal(['predict']), 'models:write', 'editor'), refuse('models:write'), 'the role allows it, the credential does not');
  assert.deepEqual(authorize(principal(['admin'], {}), 'admin', 'admin'), allow);
});

test('no role in the space: 404, like a resource that does not exist; admin-scoped principals pass', () => {
  const p = principal(['predict'], { s1: 'viewer' });
  assert.equal(roleIn(p, 's1'), 'viewer');
  assert.equal(roleIn(p, 's2'), null);
  assert.deepEqual(authorize(p, 'predict', roleIn(p, 's2')), { allow: false, status: 404 });
  assert.deepEqual(authorize(p, 'models:write', roleIn(p, 's2')), refuse('models:write'), 'the scope is judged first');
  assert.deepEqual(authorize(principal(['admin']), 'models:write', null), allow);
});

test('scope parameter syntax (RFC 6749 §3.3)', () => {
  assert.deepEqual(parseScopeParam('predict models:read predict'), ['predict', 'models:read']);
  assert.deepEqual(parseScopeParam('x:y'), ['x:y'], 'well-formed even if unknown: the caller checks the names');
  for (const bad of ['', 'a  b', ' a', 'a ', 'a\tb', 'a"b', 'a\\b', 'é']) assert.equal(parseScopeParam(bad), undefined, JSON.stringify(bad));
});
