import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql, type Kysely, type Migration } from 'kysely';
import { openDatabase } from '../../src/storage/sql/database.js';
import { MIGRATIONS, migrateToLatest } from '../../src/storage/sql/migrator.js';
import type { Database } from '../../src/storage/sql/schema.js';
import { createSqlRepositories } from '../../src/storage/sql/sql-repositories.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'plinth-sql-'));
});
after(() => rm(dir, { recursive: true, force: true }));

const tables = async (db: Kysely<Database>) =>
  (await sql<{ name: string }>`select name from sqlite_master where type = 'table' order by name`.execute(db)).rows.map((r) => r.name);

test('open runs every migration on a new file, in a nested folder, with WAL and foreign keys on', async () => {
  const db = await openDatabase(join(dir, 'nested', 'fresh.db'));
  try {
    const names = await tables(db);
    for (const t of ['spaces', 'space_members', 'models', 'model_tags', 'model_versions', 'aliases', 'deployments', 'kysely_migration']) {
      assert.ok(names.includes(t), `table ${t} missing from ${names.join(', ')}`);
    }
    const applied = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(db);
    assert.deepEqual(applied.rows.map((r) => r.name), Object.keys(MIGRATIONS));
    assert.equal((await sql<{ journal_mode: string }>`pragma journal_mode`.execute(db)).rows[0]?.journal_mode, 'wal');
    assert.equal((await sql<{ foreign_keys: number }>`pragma foreign_keys`.execute(db)).rows[0]?.foreign_keys, 1);
    assert.ok(((await sql<{ timeout: number }>`pragma busy_timeout`.execute(db)).rows[0]?.timeout ?? 0) > 0);
  } finally {
    await db.destroy();
  }
});

test('reopening applies nothing twice, and the data written before closing is still there', async () => {
  const file = join(dir, 'reopen.db');
  let db = await openDatabase(file);
  const repos = createSqlRepositories(db);
  const space = await repos.spaces.create({ name: 'default', description: 'the default space' });
  const model = await repos.models.create({ spaceId: space.id, name: 'iris', tags: ['tabular', 'demo'] });
  const v1 = await repos.models.createVersion({ modelId: model.id, sha256: 'a'.repeat(64), size: 1234, blobKey: 'models/iris/1', metrics: { accuracy: 0.97 } });
  await repos.aliases.set(model.id, 'production', v1.version);
  const deployment = await repos.deployments.create({ spaceId: space.id, name: 'iris-online', target: { modelId: model.id, primary: { alias: 'production' } } });
  await repos.deployments.setStatus(deployment.id, 'ready');
  await db.destroy();

  db = await openDatabase(file);
  try {
    assert.deepEqual(await migrateToLatest(db), [], 'no migration may run again on an up-to-date file');
    const again = createSqlRepositories(db);
    assert.deepEqual(await again.spaces.getByName('default'), space);
    assert.deepEqual(await again.models.get(model.id), { ...model, updatedAt: (await again.models.get(model.id))!.updatedAt });
    assert.deepEqual(await again.models.getVersion(model.id, 1), v1);
    assert.equal((await again.aliases.get(model.id, 'production'))?.version, 1);
    const restored = await again.deployments.get(deployment.id);
    assert.equal(restored?.status, 'ready');
    assert.deepEqual(restored?.target, { modelId: model.id, primary: { alias: 'production' } });
    assert.deepEqual((await again.models.list({ spaceId: space.id, limit: 10, tag: 'demo' })).items.map((m) => m.name), ['iris']);
  } finally {
    await db.destroy();
  }
});

test('a migration that fails half-way leaves no table behind and is not recorded as applied', async () => {
  const file = join(dir, 'broken.db');
  const db = await openDatabase(file);
  const broken: Migration = {
    async up(d: Kysely<any>) {
      await d.schema.createTable('half_done').addColumn('id', 'text').execute();
      await sql`this is not sql`.execute(d);
    },
  };
  try {
    await assert.rejects(migrateToLatest(db, { ...MIGRATIONS, '9999-broken': broken }), /database migration 9999-broken failed/);
    assert.ok(!(await tables(db)).includes('half_done'), 'the migration must be all-or-nothing');
    const applied = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(db);
    assert.deepEqual(applied.rows.map((r) => r.name), Object.keys(MIGRATIONS));
  } finally {
    await db.destroy();
  }
});
