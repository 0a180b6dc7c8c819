import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import { PlinthError } from '../../src/core/errors.js';
import type { RegistryRepositories, SpaceRow } from '../../src/storage/ports.js';
import { DuplicateNameError, InUseError, RevisionMismatchError } from '../../src/storage/storage.errors.js';
import { openDatabase } from '../../src/storage/sql/database.js';
import type { Database } from '../../src/storage/sql/schema.js';
import { createSqlRepositories } from '../../src/storage/sql/sql-repositories.js';

let dir: string;
let db: Kysely<Database>;
let repos: RegistryRepositories;
let space: SpaceRow;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'plinth-registry-'));
  db = await openDatabase(join(dir, 'registry.db'));
  repos = createSqlRepositories(db);
  space = await repos.spaces.ensure({ name: 'default', description: 'created at start-up' });
});
after(async () => {
  await db.destroy();
  await rm(dir, { recursive: true, force: true });
});

const code = (expected: string) => (err: unknown) => err instanceof PlinthError && err.code === expected;

test('spaces: ensure is idempotent under a race, names are unique, members have one role each', async () => {
  const raced = await Promise.all(Array.from({ length: 5 }, () => repos.spaces.ensure({ name: 'default' })));
  assert.ok(raced.every((s) => s.id === space.id), 'every ensure returns the one default space');
  assert.equal(space.description, 'created at start-up');
  await assert.rejects(repos.spaces.create({ name: 'default' }), (err: unknown) => err instanceof DuplicateNameError && err.message === "space 'default' already exists");

  await repos.spaces.setMember(space.id, 'alice', 'viewer');
  await repos.spaces.setMember(space.id, 'alice', 'admin');
  await repos.spaces.setMember(space.id, 'bob', 'editor');
  assert.deepEqual(await repos.spaces.listMembers(space.id), [
    { spaceId: space.id, user: 'alice', role: 'admin' },
    { spaceId: space.id, user: 'bob', role: 'editor' },
  ]);
  await assert.rejects(repos.spaces.setMember('no-such-space', 'carol', 'viewer'), code('NOT_FOUND'));
  const lab = await repos.spaces.create({ name: 'lab' });
  await repos.spaces.setMember(lab.id, 'bob', 'viewer');
  const bobs = await repos.spaces.list({ limit: 10, member: 'bob' });
  assert.deepEqual(bobs.items.map((s) => s.name), ['default', 'lab']);
  assert.deepEqual((await repos.spaces.list({ limit: 10, member: 'alice' })).items.map((s) => s.name), ['default']);
  assert.deepEqual((await repos.spaces.list({ limit: 1, namePrefix: 'la' })).items.map((s) => s.name), ['lab']);
  assert.equal(await repos.spaces.removeMember(space.id, 'bob'), true);
  assert.equal(await repos.spaces.getMember(space.id, 'bob'), undefined);
  assert.equal((await repos.spaces.update(lab.id, { description: 'experiments' })).description, 'experiments');
});

test('spaces: a space holding a model cannot be deleted; an empty one can, with its members', async () => {
  const busy = await repos.spaces.create({ name: 'busy' });
  await repos.spaces.setMember(busy.id, 'alice', 'admin');
  const model = await repos.models.create({ spaceId: busy.id, name: 'm' });
  await assert.rejects(repos.spaces.delete(busy.id), (err: unknown) => err instanceof InUseError);
  await repos.models.delete(model.id);
  assert.equal(await repos.spaces.delete(busy.id), true);
  assert.deepEqual(await repos.spaces.listMembers(busy.id), []);
  assert.equal(await repos.spaces.get(busy.id), undefined);
});

test('aliases: set, move, list, refuse a missing version, and pin the version against deletion', async () => {
  const model = await repos.models.create({ spaceId: space.id, name: 'aliased' });
  for (let i = 1; i <= 3; i++) await repos.models.createVersion({ modelId: model.id, sha256: String(i), size: 1, blobKey: `a/${i}` });
  await repos.aliases.set(model.id, 'staging', 3);
  const production = await repos.aliases.set(model.id, 'production', 1);
  assert.equal(production.version, 1);
  const moved = await repos.aliases.set(model.id, 'production', 2);
  assert.equal(moved.version, 2);
  assert.deepEqual((await repos.aliases.list(model.id)).map((a) => [a.name, a.version]), [['production', 2], ['staging', 3]]);
  assert.deepEqual((await repos.aliases.listForVersion(model.id, 2)).map((a) => a.name), ['production']);
  await assert.rejects(repos.aliases.set(model.id, 'production', 9), code('VERSION_NOT_FOUND'));
  assert.equal((await repos.aliases.get(model.id, 'production'))?.version, 2, 'a refused move leaves the alias where it was');
  assert.equal(await repos.models.deleteVersion(model.id, 1), true, 'version 1 is free since production moved');
  await assert.rejects(repos.models.deleteVersion(model.id, 3), (err: unknown) => err instanceof InUseError);
  assert.equal(await repos.aliases.delete(model.id, 'staging'), true);
  assert.equal(await repos.aliases.delete(model.id, 'staging'), false);
  assert.equal(await repos.models.deleteVersion(model.id, 3), true);
});

test('deployments: create, unique per space, status with reason, revisions, listing across spaces', async () => {
  const model = await repos.models.create({ spaceId: space.id, name: 'served' });
  await repos.models.createVersion({ modelId: model.id, sha256: '1', size: 1, blobKey: 'd/1' });
  await repos.models.createVersion({ modelId: model.id, sha256: '2', size: 1, blobKey: 'd/2' });
  const created = await repos.deployments.create({
    spaceId: space.id,
    name: 'served-online',
    description: 'credit scoring',
    target: { modelId: model.id, primary: { version: 1 }, canary: { selector: { version: 2 }, percent: 10 } },
    authMode: 'token',
    runtime: { intraOpThreads: 2, maxBatchSize: 8 },
  });
  assert.equal(created.status, 'initializing');
  assert.equal(created.kind, 'online');
  assert.equal(created.revision, 1);
  assert.deepEqual(await repos.deployments.get(created.id), created);
  assert.deepEqual(await repos.deployments.getByName(space.id, 'served-online'), created);
  await assert.rejects(
    repos.deployments.create({ spaceId: space.id, name: 'served-online', target: { modelId: model.id, primary: { version: 1 } } }),
    (err: unknown) => err instanceof DuplicateNameError && err.message === "deployment 'served-online' already exists in this space",
  );
  await assert.rejects(repos.deployments.create({ spaceId: space.id, name: 'x', target: { modelId: 'missing', primary: { version: 1 } } }), code('MODEL_NOT_FOUND'));
  await assert.rejects(repos.deployments.create({ spaceId: 'missing', name: 'x', target: { modelId: model.id, primary: { version: 1 } } }), code('NOT_FOUND'));

  const failed = await repos.deployments.setStatus(created.id, 'failed', 'ORT could not load the model');
  assert.equal(failed.reason, 'ORT could not load the model');
  assert.equal(failed.revision, 1, 'a status change is not an edit');
  const ready = await repos.deployments.setStatus(created.id, 'ready', 'ignored');
  assert.equal(ready.reason, null, 'only a failed deployment keeps a reason');

  const moved = await repos.deployments.update(created.id, { target: { modelId: model.id, primary: { version: 2 } } }, 1);
  assert.equal(moved.revision, 2);
  assert.deepEqual(moved.target, { modelId: model.id, primary: { version: 2 } });
  assert.deepEqual(await repos.deployments.get(created.id), moved);
  await assert.rejects(repos.deployments.update(created.id, { description: 'late' }, 1), (err: unknown) => err instanceof RevisionMismatchError);
  await assert.rejects(repos.deployments.update('missing', {}), code('NOT_FOUND'));

  const lab = await repos.spaces.ensure({ name: 'lab' });
  const labModel = await repos.models.create({ spaceId: lab.id, name: 'served' });
  await repos.deployments.create({ spaceId: lab.id, name: 'served-online', target: { modelId: labModel.id, primary: { alias: 'production' } } });
  const everywhere = await repos.deployments.list({ limit: 1 });
  const second = await repos.deployments.list({ limit: 1, cursor: everywhere.nextCursor });
  assert.equal(second.nextCursor, undefined);
  assert.deepEqual([...everywhere.items, ...second.items].map((d) => d.spaceId).sort(), [space.id, lab.id].sort());
  assert.deepEqual((await repos.deployments.list({ limit: 10, modelId: labModel.id })).items.map((d) => d.spaceId), [lab.id]);
  assert.deepEqual((await repos.deployments.list({ limit: 10, spaceId: space.id, status: 'ready' })).items.map((d) => d.id), [created.id]);
  assert.deepEqual((await repos.deployments.list({ limit: 10, spaceId: space.id, namePrefix: 'nope' })).items, []);
  assert.equal(await repos.deployments.delete(created.id), true);
  assert.equal(await repos.deployments.get(created.id), undefined);
});
