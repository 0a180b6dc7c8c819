import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { exampleModels, startServer, type TestServer } from '../helpers/server.js';
import { breastCancer, call, createBatchDeployment, parseCsv, uploadAsset, waitForJob } from './jobs-http.js';

describe('data assets over HTTP', () => {
  let server: TestServer;
  const url = (path: string) => `${server.url}${path}`;
  const bc = breastCancer();

  before(async () => {
    server = await startServer(exampleModels('breast-cancer'), { maxAssetMb: 1 });
    await createBatchDeployment(server.url, 'bc-batch', 'breast-cancer');
  });
  after(() => server.close());

  test('CSV with BOM, CRLF, semicolons and quoted newlines: dialect, header, rows, SHA-256; downloads byte for byte; scores', async () => {
    const header = 'note;' + bc.header.replaceAll(',', ';');
    const body = bc.lines.slice(0, 5).map((l, i) => `"line ${i}\r\nwith ""quotes"" and ;";${l.replaceAll(',', ';')}`);
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from([header, ...body].join('\r\n') + '\r\n')]);
    const r = await uploadAsset(server.url, 'semi.csv', bytes);
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.format, 'csv');
    assert.deepEqual(r.json.dialect, { delimiter: ';', quote: '"', bom: true });
    assert.equal(r.json.rowCount, 5);
    assert.equal(r.json.columns[0], 'note');
    assert.equal(r.json.columns.length, 31);
    assert.equal(r.json.size, bytes.length);
    assert.equal(r.json.sha256, createHash('sha256').update(bytes).digest('hex'));
    const download = await fetch(url(`/api/v1/assets/${r.json.id}/content`));
    assert.equal(download.status, 200);
    assert.deepEqual(Buffer.from(await download.arrayBuffer()), bytes);
    assert.equal((await call('GET', url('/api/v1/assets/semi.csv'))).json.id, r.json.id);

    const job = await waitForJob(server.url, (await call('POST', url('/api/v1/jobs'), { deployment: 'bc-batch', input: { asset: 'semi.csv' }, carry: ['note'] })).json.id);
    assert.equal(job.status, 'completed', JSON.stringify(job));
    const out = parseCsv(await (await fetch(url(job.output.url))).text());
    assert.equal(out.length, 6);
    assert.equal(out[1]![0], 'line 0\r\nwith "quotes" and ;', 'the quoted newline and quotes survive');
  });

  test('NDJSON and JSON arrays: rows counted, columns from the first record, scored', async () => {
    const records = bc.lines.slice(0, 4).map((l, i) => ({ id: i, ...Object.fromEntries(bc.features.map((f, j) => [f, Number(l.split(',')[j])])) }));
    const nd = await uploadAsset(server.url, 'recs.ndjson', records.map((r) => JSON.stringify(r)).join('\n') + '\n\n');
    assert.equal(nd.status, 201, nd.text);
    assert.equal(nd.json.format, 'ndjson');
    assert.equal(nd.json.rowCount, 4);
    assert.equal(nd.json.columns[0], 'id');
    const arr = await uploadAsset(server.url, 'recs.json', JSON.stringify(records, null, 2));
    assert.equal(arr.json.format, 'json');
    assert.equal(arr.json.rowCount, 4);
    for (const asset of ['recs.ndjson', 'recs.json']) {
      const job = await waitForJob(server.url, (await call('POST', url('/api/v1/jobs'), { deployment: 'bc-batch', input: { asset }, carry: ['id'], output: { format: 'ndjson' } })).json.id);
      assert.equal(job.status, 'completed', JSON.stringify(job));
      const lines = (await (await fetch(url(job.output.url))).text()).trim().split('\n').map((l) => JSON.parse(l));
      assert.deepEqual(lines.map((l) => l.id), [0, 1, 2, 3]);
    }
    const list = await call('GET', url('/api/v1/assets?name=recs'));
    assert.deepEqual(list.json.items.map((a: { name: string }) => a.name), ['recs.json', 'recs.ndjson']);
  });

  test('refused uploads: empty file, non-UTF-8 bytes (with the line), no header names, bad JSON, over the size limit; nothing is kept', async () => {
    const empty = await uploadAsset(server.url, 'empty.csv', '');
    assert.equal(empty.status, 400);
    assert.match(empty.json.error, /the file is empty/);
    const latin1 = Buffer.concat([Buffer.from('a,b\n1,2\n3,'), Buffer.from([0xe9, 0x74, 0xe9]), Buffer.from('\n')]);
    const bad = await uploadAsset(server.url, 'latin1.csv', latin1);
    assert.equal(bad.status, 400);
    assert.match(bad.json.error, /not valid UTF-8: line 3/);
    const noName = await uploadAsset(server.url, 'noname.csv', 'a,,c\n1,2,3\n');
    assert.equal(noName.status, 400);
    assert.match(noName.json.error, /header column 2 has no name/);
    const json = await uploadAsset(server.url, 'bad.json', '{"a": 1}');
    assert.equal(json.status, 400);
    assert.match(json.json.error, /one array of records/);
    const big = await uploadAsset(server.url, 'big.csv', 'a\n' + '1\n'.repeat(600 * 1024));
    assert.equal(big.status, 413, big.text);
    const list = await call('GET', url('/api/v1/assets'));
    assert.ok(!list.json.items.some((a: { name: string }) => ['empty.csv', 'latin1.csv', 'noname.csv', 'bad.json', 'big.csv'].includes(a.name)));
  });

  test('delete: refused while a job uses the asset is not the case once it finished; 404 after', async () => {
    const r = await uploadAsset(server.url, 'gone.csv', bc.header + '\n' + bc.lines[0] + '\n');
    assert.equal((await call('DELETE', url(`/api/v1/assets/${r.json.id}`))).status, 204);
    assert.equal((await call('GET', url(`/api/v1/assets/${r.json.id}`))).status, 404);
    assert.equal((await call('GET', url('/api/v1/assets/gone.csv/content'))).status, 404);
  });
});
