import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql, type Kysely } from 'kysely';
import { createAuthServices } from '../../src/auth/auth-services.js';
import type { Principal } from '../../src/auth/principal.js';
import { openDatabase } from '../../src/storage/sql/database.js';
import type { Database } from '../../src/storage/sql/schema.js';
import { createSqlAuthRepositories } from '../../src/storage/sql/sql-auth-repositories.js';
import { SqlSpaceRepository } from '../../src/storage/sql/space.repository.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'plinth-auth-sql-'));
});
after(() => rm(dir, { recursive: true, force: true }));

const count = async (db: Kysely<Database>, table: 'sessions' | 'oauth_clients' | 'api_keys') =>
  Number((await db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);

test('migration 0002 creates the auth tables', async () => {
  const db = await openDatabase(join(dir, 'tables.db'));
  try {
    const names = (await sql<{ name: string }>`select name from sqlite_master where type = 'table'`.execute(db)).rows.map((r) => r.name);
    for (const t of ['users', 'sessions', 'oauth_clients', 'api_keys', 'signing_keys', 'revoked_tokens']) assert.ok(names.includes(t), `${t} missing`);
  } finally {
    await db.destroy();
  }
});

test('two replicas starting at once create one admin and print one password', async () => {
  const file = join(dir, 'race.db');
  const [a, b] = [await openDatabase(file), await openDatabase(file)];
  try {
    const results = await Promise.all([a, b].map((db) => createAuthServices(createSqlAuthRepositories(db)).users.ensureAdmin()));
    const generated = results.filter((r) => r.generatedPassword !== undefined);
    assert.equal(generated.length, 1, JSON.stringify(results));
    assert.ok(await createAuthServices(createSqlAuthRepositories(a)).users.verifyCredentials('admin', generated[0]!.generatedPassword!));
  } finally {
    await a.destroy();
    await b.destroy();
  }
});

test("deleting a space removes its API keys; deleting a user removes their sessions, clients and keys", async () => {
  const db = await openDatabase(join(dir, 'cascade.db'));
  try {
    const auth = createAuthServices(createSqlAuthRepositories(db));
    await auth.users.create('gina', 'gina-password-123');
    const spaces = new SqlSpaceRepository(db);
    const one = await spaces.create({ name: 'one' });
    const two = await spaces.create({ name: 'two' });
    await spaces.setMember(one.id, 'gina', 'editor');
    await spaces.setMember(two.id, 'gina', 'editor');
    const gina: Principal = { subject: 'gina', kind: 'session', user: 'gina', scopes: ['predict'], spaceRoles: { [one.id]: 'editor', [two.id]: 'editor' } };
    await auth.apiKeys.create(gina, { name: 'k1', space: 'one', scopes: ['predict'] });
    await auth.apiKeys.create(gina, { name: 'k2', space: 'two', scopes: ['predict'] });
    await auth.clients.create(gina, { name: 'c', scopes: ['predict'] });
    await auth.sessions.open('gina');

    assert.equal(await spaces.delete(one.id), true);
    assert.deepEqual((await auth.apiKeys.list('gina')).map((k) => k.name), ['k2']);

    await db.deleteFrom('users').where('name', '=', 'gina').execute();
    assert.deepEqual([await count(db, 'sessions'), await count(db, 'oauth_clients'), await count(db, 'api_keys')], [0, 0, 0]);
  } finally {
    await db.destroy();
  }
});
