import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import { PlinthError } from '../../src/core/errors.js';
import type { ModelRow, RegistryRepositories, SpaceRow } from '../../src/storage/ports.js';
import { DuplicateNameError, InUseError, RevisionMismatchError } from '../../src/storage/storage.errors.js';
import { openDatabase } from '../../src/storage/sql/database.js';
import type { Database } from '../../src/storage/sql/schema.js';
import { createSqlRepositories } from '../../src/storage/sql/sql-repositories.js';

let dir: string;
let db: Kysely<Database>;
let repos: RegistryRepositories;
let space: SpaceRow;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'plinth-models-'));
  db = await openDatabase(join(dir, 'registry.db'));
  repos = createSqlRepositories(db);
  space = await repos.spaces.create({ name: 'default' });
});
after(async () => {
  await db.destroy();
  await rm(dir, { recursive: true, force: true });
});

const digest = (n: number) => n.toString(16).padStart(64, '0');

test('a model name is unique per space: the second create is a DuplicateNameError, not a driver message', async () => {
  const other = await repos.spaces.create({ name: 'other' });
  const first = await repos.models.create({ spaceId: space.id, name: 'churn', description: 'first', tags: ['b', 'a', 'b'] });
  assert.deepEqual(first.tags, ['a', 'b'], 'tags are stored sorted, without duplicates');
  assert.equal(first.revision, 1);
  await assert.rejects(repos.models.create({ spaceId: space.id, name: 'churn' }), (err: unknown) => {
    assert.ok(err instanceof DuplicateNameError);
    assert.equal(err.code, 'CONFLICT');
    assert.equal(err.message, "model 'churn' already exists in this space");
    assert.doesNotMatch(err.message, /SQLITE|constraint/i);
    return true;
  });
  // The same name in another space is fine.
  const elsewhere = await repos.models.create({ spaceId: other.id, name: 'churn' });
  assert.notEqual(elsewhere.id, first.id);
  await assert.rejects(repos.models.create({ spaceId: 'no-such-space', name: 'x' }), (err: unknown) => err instanceof PlinthError && err.code === 'NOT_FOUND');
});

test('20 concurrent createVersion calls get versions 1..20, each exactly once', async () => {
  const model = await repos.models.create({ spaceId: space.id, name: 'concurrent' });
  const created = await Promise.all(
    Array.from({ length: 20 }, (_, i) => repos.models.createVersion({ modelId: model.id, sha256: digest(i), size: i, blobKey: `blobs/${i}` })),
  );
  assert.deepEqual(created.map((v) => v.version).sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => i + 1));
  const listed = await repos.models.listVersions({ modelId: model.id, limit: 100 });
  assert.deepEqual(listed.items.map((v) => v.version), Array.from({ length: 20 }, (_, i) => i + 1));
  assert.equal(listed.nextCursor, undefined);
  // Each row kept what its own caller passed in.
  for (const v of created) assert.equal((await repos.models.getVersion(model.id, v.version))?.sha256, v.sha256);
});

test('version numbers are never reused, even after the newest version is deleted', async () => {
  const model = await repos.models.create({ spaceId: space.id, name: 'renumbered' });
  for (let i = 1; i <= 3; i++) await repos.models.createVersion({ modelId: model.id, sha256: digest(i), size: 1, blobKey: `b/${i}` });
  assert.equal(await repos.models.deleteVersion(model.id, 3), true);
  assert.equal(await repos.models.deleteVersion(model.id, 3), false);
  const next = await repos.models.createVersion({ modelId: model.id, sha256: digest(4), size: 1, blobKey: 'b/4' });
  assert.equal(next.version, 4);
  await assert.rejects(
    repos.models.createVersion({ modelId: 'gone', sha256: digest(5), size: 1, blobKey: 'b/5' }),
    (err: unknown) => err instanceof PlinthError && err.code === 'MODEL_NOT_FOUND',
  );
});

test('versions keep their JSON columns, and latest / by-digest lookups find the right one', async () => {
  const model = await repos.models.create({ spaceId: space.id, name: 'columns' });
  const signature = { inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }], outputs: [] };
  const manifest = { task: 'classification', classes: ['a', 'b'] };
  const v1 = await repos.models.createVersion({
    modelId: model.id, sha256: digest(1), size: 2 ** 40, blobKey: 'k/1', signature, manifest, metrics: { accuracy: 0.9 }, tags: ['x'],
  });
  await repos.models.createVersion({ modelId: model.id, sha256: digest(2), size: 10, blobKey: 'k/2', status: 'pending' });
  assert.deepEqual(await repos.models.getVersion(model.id, 1), v1);
  assert.equal(v1.size, 2 ** 40, 'sizes past 32 bits survive');
  assert.deepEqual(v1.signature, signature);
  assert.equal((await repos.models.latestVersion(model.id))?.version, 1, 'latest means latest ready');
  assert.equal((await repos.models.latestVersion(model.id, 'pending'))?.version, 2);
  assert.deepEqual((await repos.models.findVersionsBySha256(model.id, digest(2))).map((v) => v.version), [2]);
  assert.deepEqual(await repos.models.findVersionsBySha256(model.id, digest(3)), []);
  const ready = await repos.models.updateVersion(model.id, 2, { status: 'ready', metrics: { accuracy: 0.95 } });
  assert.equal(ready.status, 'ready');
  assert.deepEqual(ready.metrics, { accuracy: 0.95 });
  assert.equal((await repos.models.latestVersion(model.id))?.version, 2);
  assert.deepEqual((await repos.models.listVersions({ modelId: model.id, limit: 10, status: 'ready' })).items.map((v) => v.version), [1, 2]);
});

test('250 models page by 100 exactly once each, in name order; prefix and tag filters combine with paging', async () => {
  const paged = await repos.spaces.create({ name: 'paging' });
  const names: string[] = [];
  for (let i = 0; i < 250; i++) {
    const name = `${i % 2 ? 'fraud' : 'churn'}-${String(i).padStart(3, '0')}`;
    names.push(name);
    await repos.models.create({ spaceId: paged.id, name, tags: i % 5 === 0 ? ['gold'] : ['plain'] });
  }
  const collect = async (query: { namePrefix?: string; tag?: string }, limit = 100) => {
    const seen: ModelRow[] = [];
    const sizes: number[] = [];
    let cursor: string | undefined;
    do {
      const page = await repos.models.list({ spaceId: paged.id, limit, cursor, ...query });
      seen.push(...page.items);
      sizes.push(page.items.length);
      cursor = page.nextCursor;
      if (cursor) assert.match(cursor, /^[A-Za-z0-9_-]+$/, 'cursors are base64url');
    } while (cursor);
    return { names: seen.map((m) => m.name), sizes };
  };
  const all = await collect({});
  assert.deepEqual(all.sizes, [100, 100, 50]);
  assert.deepEqual(all.names, [...names].sort(), 'every model once, in name order');

  const churn = await collect({ namePrefix: 'churn-' }, 100);
  assert.deepEqual(churn.names, names.filter((n) => n.startsWith('churn-')).sort());
  assert.deepEqual(churn.sizes, [100, 25]);

  const gold = await collect({ tag: 'gold' }, 7);
  assert.deepEqual(gold.names, names.filter((_, i) => i % 5 === 0).sort());

  const goldFraud = await collect({ tag: 'gold', namePrefix: 'fraud' });
  assert.deepEqual(goldFraud.names, names.filter((n, i) => i % 5 === 0 && n.startsWith('fraud')).sort());

  // A prefix is literal: '%' and '_' are not wildcards.
  assert.deepEqual((await collect({ namePrefix: 'churn_' })).names, []);
  assert.deepEqual((await collect({ namePrefix: '%' })).names, []);
  assert.deepEqual((await collect({ namePrefix: 'CHURN' })).names, [], 'prefixes are case-sensitive');
});

test('bad cursors and limits are INVALID_INPUT', async () => {
  for (const cursor of ['not a cursor', Buffer.from('{"a":1}').toString('base64url'), Buffer.from('[1,2]').toString('base64url')]) {
    await assert.rejects(repos.models.list({ spaceId: space.id, limit: 10, cursor }), (err: unknown) => err instanceof PlinthError && err.code === 'INVALID_INPUT');
  }
  for (const limit of [0, -1, 1.5, 1001]) {
    await assert.rejects(repos.models.list({ spaceId: space.id, limit }), (err: unknown) => err instanceof PlinthError && err.code === 'INVALID_INPUT');
  }
});

test('update bumps the revision, honours an expected revision, and rewrites the tag index', async () => {
  const model = await repos.models.create({ spaceId: space.id, name: 'revised', tags: ['old'] });
  const updated = await repos.models.update(model.id, { description: 'new text', tags: ['new'] }, 1);
  assert.equal(updated.revision, 2);
  assert.equal(updated.description, 'new text');
  assert.deepEqual(await repos.models.get(model.id), updated);
  await assert.rejects(repos.models.update(model.id, { description: 'stale' }, 1), (err: unknown) => {
    assert.ok(err instanceof RevisionMismatchError);
    assert.equal(err.actual, 2);
    return true;
  });
  assert.equal((await repos.models.get(model.id))?.description, 'new text', 'a refused update changes nothing');
  const byTag = async (tag: string) => (await repos.models.list({ spaceId: space.id, limit: 100, tag })).items.map((m) => m.name);
  assert.deepEqual(await byTag('new'), ['revised']);
  assert.deepEqual(await byTag('old'), []);
  await assert.rejects(repos.models.update('missing', {}), (err: unknown) => err instanceof PlinthError && err.code === 'MODEL_NOT_FOUND');
});

test('a model a deployment uses cannot be deleted; once free, it goes with its versions, tags and aliases', async () => {
  const model = await repos.models.create({ spaceId: space.id, name: 'in-use', tags: ['t'] });
  await repos.models.createVersion({ modelId: model.id, sha256: digest(1), size: 1, blobKey: 'u/1' });
  await repos.aliases.set(model.id, 'production', 1);
  const deployment = await repos.deployments.create({ spaceId: space.id, name: 'uses-it', target: { modelId: model.id, primary: { version: 1 } } });
  await assert.rejects(repos.models.delete(model.id), (err: unknown) => {
    assert.ok(err instanceof InUseError);
    assert.match(err.message, /deployment\(s\) 'uses-it'/);
    return true;
  });
  assert.ok(await repos.models.get(model.id), 'nothing was deleted');
  await assert.rejects(repos.models.deleteVersion(model.id, 1), (err: unknown) => err instanceof InUseError && /alias\(es\) 'production'/.test(err.message));

  assert.equal(await repos.deployments.delete(deployment.id), true);
  assert.equal(await repos.models.delete(model.id), true);
  assert.equal(await repos.models.get(model.id), undefined);
  assert.equal(await repos.models.getVersion(model.id, 1), undefined);
  assert.deepEqual(await repos.aliases.list(model.id), []);
  assert.equal(await repos.models.delete(model.id), false);
});
