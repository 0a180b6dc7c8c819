import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EXAMPLES, exampleModels, FIXTURES, post, SHARED, startServer, type TestServer } from '../helpers/server.js';
import { tarGzOf, zipOf } from '../registry/registry-helpers.js';
import { blobFiles, rawRequest, send, tmpEntries, upload } from './registry-http.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const SETOSA = { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 };
const V2_INPUT = { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: [5.1, 3.5, 1.4, 0.2] }] };

let iris: Buffer;
let irisYaml: string;
let addMul: Buffer;
before(async () => {
  iris = await readFile(join(EXAMPLES, 'iris/1/model.onnx'));
  irisYaml = await readFile(join(EXAMPLES, 'iris/1/model.yaml'), 'utf8');
  addMul = await readFile(join(FIXTURES, 'add-mul.onnx'));
});

describe('uploads, versions and artifacts over HTTP', () => {
  let server: TestServer;
  const url = (path: string) => `${server.url}${path}`;
  const vocab = Buffer.from(JSON.stringify({ tokens: ['a', 'b', 'c'] }));
  before(async () => {
    server = await startServer({});
  });
  after(() => server.close());

  test('a .onnx upload creates the model as version 1 with digest, size, signature, tags, Location and the description field', async () => {
    const r = await upload(server, 'iris', 'iris.onnx', iris, { fields: [['description', 'Iris species, random forest'], ['tags', 'rf, baseline,']] });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.headers.get('location'), '/api/v1/models/iris/versions/1');
    assert.equal(r.json.model, 'iris');
    assert.equal(r.json.space, 'default');
    assert.equal(r.json.version, 1);
    assert.equal(r.json.status, 'ready');
    assert.equal(r.json.sha256, sha(iris));
    assert.equal(r.json.size, iris.length);
    assert.deepEqual([...r.json.tags].sort(), ['baseline', 'rf'], 'comma-separated, trimmed, empty entries dropped');
    assert.equal(r.json.manifest, null);
    assert.deepEqual(r.json.metrics, {});
    assert.deepEqual(r.json.signature.inputs, [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }]);
    assert.deepEqual(r.json.signature.outputs.map((o: { name: string }) => o.name).sort(), ['label', 'probabilities']);
    assert.deepEqual(r.json.artifacts, [{ path: 'model.onnx', size: iris.length, sha256: sha(iris) }]);

    const model = await send('GET', url('/api/v1/models/iris'));
    assert.equal(model.status, 200, model.text);
    assert.equal(model.json.description, 'Iris species, random forest');
    assert.equal(model.headers.get('etag'), `"${model.json.revision}"`);
  });

  test('a .zip with model.yaml and an extra artifact becomes version 2 with manifest and metrics; its bytes download unchanged', async () => {
    const zip = await zipOf({ 'model.onnx': iris, 'model.yaml': Buffer.from(irisYaml), 'assets/vocab list.json': vocab });
    const r = await upload(server, 'iris', 'iris-folder.zip', zip, { fields: [['tags', 'zip']] });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.version, 2);
    assert.equal(r.json.sha256, sha(iris), 'sha256 is the digest of model.onnx');
    assert.equal(r.json.manifest.task, 'multiclass_classification');
    assert.deepEqual(r.json.manifest.classes, ['setosa', 'versicolor', 'virginica']);
    assert.deepEqual(r.json.metrics, { accuracy: 0.9737 });
    assert.deepEqual(r.json.tags, ['zip']);
    assert.deepEqual(r.json.artifacts.map((a: { path: string }) => a.path), ['assets/vocab list.json', 'model.onnx', 'model.yaml']);

    const got = await send('GET', url('/api/v1/models/iris/versions/2'));
    assert.equal(got.status, 200, got.text);
    assert.deepEqual(got.json.artifacts, r.json.artifacts);

    const download = await fetch(url('/api/v1/models/iris/versions/2/artifacts/assets/vocab%20list.json'));
    assert.equal(download.status, 200);
    assert.equal(download.headers.get('content-type'), 'application/octet-stream');
    assert.equal(download.headers.get('content-length'), String(vocab.length));
    assert.match(download.headers.get('content-disposition') ?? '', /^attachment; filename="vocab_list.json"; filename\*=UTF-8''vocab%20list.json$/);
    assert.deepEqual(Buffer.from(await download.arrayBuffer()), vocab);
    const onnx = await fetch(url('/api/v1/models/iris/versions/2/artifacts/model.onnx'));
    assert.deepEqual(Buffer.from(await onnx.arrayBuffer()), iris);
    const yaml = await fetch(url('/api/v1/models/iris/versions/2/artifacts/model.yaml'));
    assert.equal(await yaml.text(), irisYaml);
  });

  test('artifact paths outside the bundle index are 404, whatever they try', async () => {
    for (const path of ['assets/nope.json', '..%2F..%2Fplinth.db', '%2Fetc%2Fpasswd', 'assets', 'model.yaml%00']) {
      const r = await send('GET', url(`/api/v1/models/iris/versions/2/artifacts/${path}`));
      assert.equal(r.status, 404, `${path}: ${r.text}`);
      assert.equal(r.json.code, 'NOT_FOUND', path);
      assert.match(r.json.error, /version 2 of model 'iris' has no artifact/, path);
    }
    // fetch would normalize '..' away; node:http sends the path as written
    for (const path of ['../../../../plinth.db', 'assets/../../../../../etc/passwd', './model.onnx']) {
      const r = await rawRequest(url(`/api/v1/models/iris/versions/2/artifacts/${path}`), { method: 'GET', headers: {}, pieces: [] });
      assert.equal(r.status, 404, `${path}: ${r.text}`);
      assert.equal(r.json.error, `version 2 of model 'iris' has no artifact '${path}'`, path);
    }
    const v1 = await send('GET', url('/api/v1/models/iris/versions/1/artifacts/model.yaml'));
    assert.equal(v1.status, 404, 'version 1 was a bare .onnx: no model.yaml');
    const missing = await send('GET', url('/api/v1/models/iris/versions/9/artifacts/model.onnx'));
    assert.equal(missing.status, 404);
    assert.equal(missing.json.code, 'VERSION_NOT_FOUND');
    const bad = await send('GET', url('/api/v1/models/iris/versions/two'));
    assert.equal(bad.status, 400);
    assert.match(bad.json.error, /version 'two' must be a whole number/);
  });

  test('a .tar.gz (node-tar) with other metrics becomes version 3; best follows the metric, latest the number', async () => {
    const tgz = await tarGzOf({
      'model.onnx': iris,
      'model.yaml': Buffer.from(irisYaml.replace(/accuracy: [0-9.]+/, 'accuracy: 0.5')),
      'notes/README.txt': Buffer.from('trained on a bad day'),
    });
    const r = await upload(server, 'iris', 'iris.tar.gz', tgz);
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.version, 3);
    assert.deepEqual(r.json.metrics, { accuracy: 0.5 });
    assert.deepEqual(r.json.tags, []);
    assert.ok(r.json.artifacts.some((a: { path: string }) => a.path === 'notes/README.txt'));

    const aliases = await send('GET', url('/api/v1/models/iris/aliases'));
    assert.equal(aliases.status, 200, aliases.text);
    assert.deepEqual(aliases.json.items, [
      { name: 'best', version: 2, computed: true, metric: 'accuracy' },
      { name: 'latest', version: 3, computed: true },
    ]);
    assert.deepEqual((await send('GET', url('/api/v1/models/iris/versions'))).json.items.map((v: { version: number }) => v.version), [1, 2, 3]);
    assert.deepEqual(await tmpEntries(server), [], 'intake folders are removed after each upload');
  });

  test('versions page with limit and cursor; bad limits and cursors are 400', async () => {
    const first = await send('GET', url('/api/v1/models/iris/versions?limit=2'));
    assert.equal(first.status, 200, first.text);
    assert.deepEqual(first.json.items.map((v: { version: number }) => v.version), [1, 2]);
    assert.equal(typeof first.json.nextCursor, 'string');
    const second = await send('GET', url(`/api/v1/models/iris/versions?limit=2&cursor=${first.json.nextCursor}`));
    assert.deepEqual(second.json.items.map((v: { version: number }) => v.version), [3]);
    assert.equal('nextCursor' in second.json, false, 'the last page has no nextCursor');
    for (const query of ['limit=0', 'limit=1001', 'limit=abc', 'limit=2.5', 'cursor=not-a-cursor', 'cursor=%24%24']) {
      const r = await send('GET', url(`/api/v1/models/iris/versions?${query}`));
      assert.equal(r.status, 400, `${query}: ${r.text}`);
      assert.match(r.json.error, /limit|cursor/, query);
    }
  });

  test('aliases: set, move, resolve, refuse latest/best, delete; a used alias protects its version', async () => {
    const set = await send('PUT', url('/api/v1/models/iris/aliases/production'), { version: 1 });
    assert.equal(set.status, 200, set.text);
    assert.equal(set.json.name, 'production');
    assert.equal(set.json.version, 1);
    assert.equal(set.json.computed, false);
    let resolved = await send('GET', url('/api/v1/resolve?reference=models:/iris@production'));
    assert.equal(resolved.status, 200, resolved.text);
    assert.equal(resolved.json.uri, 'models:/iris/1');
    assert.equal(resolved.json.version.version, 1);
    assert.equal(resolved.json.model.name, 'iris');

    assert.equal((await send('PUT', url('/api/v1/models/iris/aliases/production'), { version: 2 })).status, 200);
    resolved = await send('GET', url('/api/v1/resolve?reference=iris@production&space=default'));
    assert.equal(resolved.json.uri, 'models:/iris/2');
    assert.equal((await send('GET', url('/api/v1/resolve?reference=models:/iris/best'))).json.uri, 'models:/iris/2');
    assert.equal((await send('GET', url('/api/v1/resolve?reference=iris'))).json.uri, 'models:/iris/3');

    for (const [method, alias] of [['PUT', 'latest'], ['PUT', 'best'], ['DELETE', 'latest'], ['DELETE', 'best']] as const) {
      const r = await send(method, url(`/api/v1/models/iris/aliases/${alias}`), method === 'PUT' ? { version: 1 } : undefined);
      assert.equal(r.status, 400, `${method} ${alias}: ${r.text}`);
      assert.match(r.json.error, new RegExp(`alias '${alias}' is reserved`));
    }
    const toMissing = await send('PUT', url('/api/v1/models/iris/aliases/staging'), { version: 42 });
    assert.equal(toMissing.status, 404, toMissing.text);
    const badBody = await send('PUT', url('/api/v1/models/iris/aliases/staging'), { version: '2' });
    assert.equal(badBody.status, 400, badBody.text);

    const used = await send('DELETE', url('/api/v1/models/iris/versions/2'));
    assert.equal(used.status, 409, used.text);
    assert.equal(used.json.code, 'CONFLICT');

    assert.equal((await send('DELETE', url('/api/v1/models/iris/aliases/production'))).status, 204);
    const gone = await send('GET', url('/api/v1/resolve?reference=iris@production'));
    assert.equal(gone.status, 404, gone.text);
    assert.match(gone.json.error, /has no alias 'production'/);
    assert.equal((await send('DELETE', url('/api/v1/models/iris/aliases/production'))).status, 404);
    const badRef = await send('GET', url('/api/v1/resolve?reference=models:/iris/1/2'));
    assert.equal(badRef.status, 400, badRef.text);
  });

  test('deleting a version keeps the others; its number is not reused', async () => {
    assert.equal((await send('DELETE', url('/api/v1/models/iris/versions/3'))).status, 204);
    assert.equal((await send('GET', url('/api/v1/models/iris/versions/3'))).status, 404);
    const again = await upload(server, 'iris', 'iris.onnx', iris);
    assert.equal(again.status, 201, again.text);
    assert.equal(again.json.version, 4);
    assert.deepEqual((await send('GET', url('/api/v1/models/iris/versions'))).json.items.map((v: { version: number }) => v.version), [1, 2, 4]);
  });

  test('two concurrent uploads of the same new name both succeed with distinct versions', async () => {
    const [a, b] = await Promise.all([upload(server, 'twin', 'a.onnx', iris), upload(server, 'twin', 'b.onnx', iris)]);
    assert.equal(a.status, 201, a.text);
    assert.equal(b.status, 201, b.text);
    assert.deepEqual([a.json.version, b.json.version].sort(), [1, 2]);
    const versions = await send('GET', url('/api/v1/models/twin/versions'));
    assert.deepEqual(versions.json.items.map((v: { version: number }) => v.version), [1, 2]);
    assert.equal((await send('GET', url('/api/v1/models?name=twin'))).json.items.length, 1, 'one model row');
  });

  test('models in another space are separate; an unknown space is 404', async () => {
    assert.equal((await send('POST', url('/api/v1/spaces'), { name: 'lab' })).status, 201);
    const r = await upload(server, 'iris', 'iris.onnx', iris, { space: 'lab' });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.version, 1, 'versions count per model, per space');
    assert.equal(r.json.space, 'lab');
    assert.equal(r.headers.get('location'), '/api/v1/models/iris/versions/1?space=lab');
    assert.deepEqual((await send('GET', url('/api/v1/models?space=lab'))).json.items.map((m: { name: string }) => m.name), ['iris']);
    assert.equal((await send('GET', url('/api/v1/models/iris/versions/1?space=lab'))).json.space, 'lab');
    const nowhere = await upload(server, 'iris', 'iris.onnx', iris, { space: 'nowhere' });
    assert.equal(nowhere.status, 404, nowhere.text);
    assert.match(nowhere.json.error, /space 'nowhere' does not exist/);
    assert.equal((await send('GET', url('/api/v1/models?space=nowhere'))).status, 404);
  });

  test('a blob for every stored file and nothing left in tmp', async () => {
    assert.ok((await blobFiles(server)).length >= 4);
    assert.deepEqual(await tmpEntries(server), []);
  });
});

describe('model lists, filters, PATCH with If-Match, delete while deployed', () => {
  let server: TestServer;
  const url = (path: string) => `${server.url}${path}`;
  const NAMES = ['alpha-1', 'alpha-2', 'alpha-3', 'beta-1', 'beta-2', 'gamma', 'iris'];
  before(async () => {
    server = await startServer(exampleModels('iris'));
    for (const name of NAMES.filter((n) => n !== 'iris')) {
      const r = await upload(server, name, `${name}.onnx`, addMul);
      assert.equal(r.status, 201, r.text);
    }
  });
  after(() => server.close());

  test('every model comes back exactly once across pages of 3, in name order', async () => {
    const seen: string[] = [];
    const pages: number[] = [];
    let cursor: string | undefined;
    do {
      const r = await send('GET', url(`/api/v1/models?limit=3${cursor ? `&cursor=${cursor}` : ''}`));
      assert.equal(r.status, 200, r.text);
      pages.push(r.json.items.length);
      seen.push(...r.json.items.map((m: { name: string }) => m.name));
      cursor = r.json.nextCursor;
    } while (cursor);
    assert.deepEqual(pages, [3, 3, 1]);
    assert.deepEqual(seen, NAMES);
    const all = await send('GET', url('/api/v1/models'));
    assert.equal(all.json.items.length, NAMES.length);
    assert.equal('nextCursor' in all.json, false);
  });

  test('name filters by prefix; tag filters by model tag', async () => {
    const alpha = await send('GET', url('/api/v1/models?name=alpha'));
    assert.deepEqual(alpha.json.items.map((m: { name: string }) => m.name), ['alpha-1', 'alpha-2', 'alpha-3']);
    const paged = await send('GET', url('/api/v1/models?name=alpha&limit=2'));
    assert.equal(paged.json.items.length, 2);
    const rest = await send('GET', url(`/api/v1/models?name=alpha&limit=2&cursor=${paged.json.nextCursor}`));
    assert.deepEqual(rest.json.items.map((m: { name: string }) => m.name), ['alpha-3']);
    assert.deepEqual((await send('GET', url('/api/v1/models?name=zzz'))).json.items, []);

    for (const name of ['beta-1', 'gamma']) {
      const r = await send('PATCH', url(`/api/v1/models/${name}`), { tags: ['tabular', name] });
      assert.equal(r.status, 200, r.text);
    }
    const tabular = await send('GET', url('/api/v1/models?tag=tabular'));
    assert.deepEqual(tabular.json.items.map((m: { name: string }) => m.name), ['beta-1', 'gamma']);
    assert.deepEqual((await send('GET', url('/api/v1/models?tag=gamma'))).json.items.map((m: { name: string }) => m.name), ['gamma']);
    assert.deepEqual((await send('GET', url('/api/v1/models?tag=tabular&name=g'))).json.items.map((m: { name: string }) => m.name), ['gamma']);
    const unknown = await send('GET', url('/api/v1/models?colour=red'));
    assert.equal(unknown.status, 400, unknown.text);
  });

  test('PATCH with a fresh If-Match answers 200 and a new ETag; a stale one 412; a malformed one 400 naming the header', async () => {
    const got = await send('GET', url('/api/v1/models/iris'));
    const etag = got.headers.get('etag')!;
    assert.match(etag, /^"\d+"$/);
    const fresh = await send('PATCH', url('/api/v1/models/iris'), { description: 'Iris, v2 docs', tags: ['flowers'] }, { 'if-match': etag });
    assert.equal(fresh.status, 200, fresh.text);
    assert.equal(fresh.json.description, 'Iris, v2 docs');
    assert.deepEqual(fresh.json.tags, ['flowers']);
    assert.equal(fresh.json.revision, got.json.revision + 1);
    const newTag = fresh.headers.get('etag');
    assert.equal(newTag, `"${got.json.revision + 1}"`);
    assert.notEqual(newTag, etag);

    const stale = await send('PATCH', url('/api/v1/models/iris'), { description: 'lost update' }, { 'if-match': etag });
    assert.equal(stale.status, 412, stale.text);
    assert.equal(stale.json.code, 'PRECONDITION_FAILED');
    assert.match(stale.json.error, /model 'iris' is at revision \d+, not \d+/);
    assert.equal((await send('GET', url('/api/v1/models/iris'))).json.description, 'Iris, v2 docs', 'the stale update changed nothing');

    for (const bad of ['3', 'W/"3"', '"a"', '"1", "2"']) {
      const r = await send('PATCH', url('/api/v1/models/iris'), { description: 'x' }, { 'if-match': bad });
      assert.equal(r.status, 400, `${bad}: ${r.text}`);
      assert.match(r.json.error, /If-Match/, bad);
    }
    const unconditional = await send('PATCH', url('/api/v1/models/iris'), { description: null });
    assert.equal(unconditional.status, 200, unconditional.text);
    assert.equal(unconditional.json.description, null);
    assert.equal((await send('PATCH', url('/api/v1/models/iris'), {})).status, 400, 'an empty patch is refused');
    assert.equal((await send('PATCH', url('/api/v1/models/iris'), { name: 'renamed' })).status, 400, 'unknown fields are refused');
    assert.equal((await send('PATCH', url('/api/v1/models/nope'), { tags: [] })).status, 404);
  });

  test('an uploaded version is servable by name at once, over V2 and records', async () => {
    const r = await upload(server, 'iris', 'iris.tar.gz', await tarGzOf({ 'model.onnx': iris, 'model.yaml': Buffer.from(irisYaml) }));
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.version, 2);
    const v2 = await post(url('/v2/models/iris/versions/2/infer'), V2_INPUT);
    assert.equal(v2.status, 200, v2.text);
    assert.equal(v2.json.model_version, '2');
    assert.deepEqual(v2.json.outputs.find((o: { name: string }) => o.name === 'label').data, ['setosa']);
    const records = await post(url('/models/iris/predict'), SETOSA);
    assert.equal(records.status, 200, records.text);
    assert.equal(records.json.model_version, '2', 'latest is the new version');
  });

  test('DELETE is refused (409) while a deployment uses the model, and works once it is gone', async () => {
    // an uploaded model: one found in the --models folder would be imported again by the next scan
    const r = await upload(server, 'iris-up', 'iris.onnx', iris);
    assert.equal(r.status, 201, r.text);
    assert.equal((await send('GET', url('/v2/models/iris-up'))).status, 200, 'served by name');
    const deployment = await server.deployments.create({ name: 'd', target: { model: 'iris-up' } });
    assert.equal(deployment.status, 'ready');
    const model = await send('DELETE', url('/api/v1/models/iris-up'));
    assert.equal(model.status, 409, model.text);
    assert.equal(model.json.code, 'CONFLICT');
    const version = await send('DELETE', url('/api/v1/models/iris-up/versions/1'));
    assert.equal(version.status, 409, version.text);
    assert.match(version.json.error, /used by deployment\(s\) 'd'/);
    assert.equal((await send('GET', url('/api/v1/models/iris-up'))).status, 200, 'still there');
    assert.equal((await send('GET', url('/v2/models/iris-up'))).status, 200, 'still served');

    await server.deployments.delete(deployment.id);
    assert.equal((await send('DELETE', url('/api/v1/models/iris-up'))).status, 204);
    assert.equal((await send('GET', url('/api/v1/models/iris-up'))).status, 404);
    assert.equal((await send('DELETE', url('/api/v1/models/iris-up'))).status, 404);
    assert.equal((await send('GET', url('/v2/models/iris-up'))).status, 404, 'a deleted model is no longer served');
  });

  test('the OpenAPI document describes every registry route with examples', async () => {
    const doc = (await send('GET', url('/api/docs/json'))).json;
    const routes: [string, string][] = [
      ['get', '/api/v1/spaces'], ['post', '/api/v1/spaces'], ['get', '/api/v1/spaces/{space}'], ['get', '/api/v1/spaces/{space}/members'],
      ['put', '/api/v1/spaces/{space}/members/{user}'], ['delete', '/api/v1/spaces/{space}/members/{user}'],
      ['get', '/api/v1/models'], ['get', '/api/v1/models/{name}'], ['patch', '/api/v1/models/{name}'], ['delete', '/api/v1/models/{name}'],
      ['post', '/api/v1/models/{name}/versions'], ['get', '/api/v1/models/{name}/versions'], ['get', '/api/v1/models/{name}/versions/{version}'],
      ['delete', '/api/v1/models/{name}/versions/{version}'], ['get', '/api/v1/models/{name}/versions/{version}/artifacts/{*}'],
      ['get', '/api/v1/models/{name}/aliases'], ['put', '/api/v1/models/{name}/aliases/{alias}'], ['delete', '/api/v1/models/{name}/aliases/{alias}'],
      ['get', '/api/v1/resolve'],
    ];
    for (const [method, path] of routes) {
      const op = doc.paths[path]?.[method];
      assert.ok(op, `${method} ${path} is documented`);
      assert.deepEqual(op.tags, ['registry'], path);
      assert.ok(op.summary, path);
      const body = op.requestBody?.content;
      if (body) {
        const media = Object.values(body)[0] as { example?: unknown; examples?: unknown };
        assert.ok(media.example ?? media.examples, `${method} ${path} request example`);
      }
      const ok = Object.entries(op.responses).find(([status]) => status.startsWith('2'))!;
      const content = (ok[1] as { content?: Record<string, { example?: unknown; examples?: unknown }> }).content;
      if (content?.['application/json']) {
        assert.ok(content['application/json'].example ?? content['application/json'].examples, `${method} ${path} response example`);
      }
    }
    const uploadBody = doc.paths['/api/v1/models/{name}/versions'].post.requestBody.content['multipart/form-data'];
    assert.deepEqual(uploadBody.schema.required, ['file']);
    assert.equal(uploadBody.schema.properties.file.format, 'binary');
  });
});

describe('a server with the shared fixtures', () => {
  test('rf_breast_cancer.onnx uploads and serves', async () => {
    const server = await startServer({});
    try {
      const rf = await readFile(join(SHARED, 'rf_breast_cancer.onnx'));
      const r = await upload(server, 'rf', 'rf_breast_cancer.onnx', rf);
      assert.equal(r.status, 201, r.text);
      assert.equal(r.json.size, rf.length);
      const meta = await send('GET', `${server.url}/v2/models/rf`);
      assert.equal(meta.status, 200, meta.text);
    } finally {
      await server.close();
    }
  });
});
