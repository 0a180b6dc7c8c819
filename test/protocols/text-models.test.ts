import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { exampleModels, get, post, startServer, type TestServer } from '../helpers/server.js';

const MODELS = ['intents-tfidf', 'intents-keras'] as const;

describe('text models: the Pega API and every other protocol', () => {
  let server: TestServer;
  let classes: string[];
  const url = (path: string) => `${server.url}${path}`;
  const pega = (body: unknown, path = '/noauth/predict') => post(url(path), body);

  before(async () => {
    server = await startServer(exampleModels(...MODELS));
    classes = (await get(url('/models/intents-tfidf/info'))).json.model.class_names;
  });
  after(() => server.close());

  for (const model of MODELS) {
    test(`${model}: /noauth/predict and /auth/predict answer the category, its confidence and every score`, async () => {
      const r = await pega({ modelIdentifier: model, text: 'hello there, good morning!' });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.modelIdentifier, model);
      assert.equal(r.json.modelVersion, '1');
      assert.equal(r.json.category, 'greeting');
      assert.deepEqual(Object.keys(r.json.scores).sort(), [...classes].sort());
      assert.equal(r.json.confidence, r.json.scores.greeting);
      assert.ok(Math.abs(Object.values(r.json.scores as Record<string, number>).reduce((a, b) => a + b, 0) - 1) < 1e-4);
      const form = await fetch(url('/auth/predict'), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ modelIdentifier: model, text: 'hello there, good morning!' }),
      });
      assert.equal(form.status, 200);
      assert.deepEqual(await form.json(), r.json, 'form fields answer as JSON does');
    });

    test(`${model}: the same text through records, MLflow, Watson ML and V2 BYTES`, async () => {
      const text = 'thank you so much for the help';
      const expected = (await pega({ modelIdentifier: model, text })).json.category;
      const records = await post(url(`/models/${model}/predict`), { text });
      assert.deepEqual(records.json.prediction, [expected], records.text);
      const mlflow = await post(url(`/models/${model}/invocations`), { dataframe_records: [{ text }] });
      assert.deepEqual(mlflow.json.predictions, [expected], mlflow.text);
      const inputs = await post(url(`/models/${model}/invocations`), { inputs: [text, text] });
      assert.deepEqual(inputs.json.predictions, [expected, expected], inputs.text);
      const wml = await post(url(`/ml/v4/deployments/${model}/predictions`), { input_data: [{ fields: ['text'], values: [[text]] }] });
      assert.equal(wml.json.predictions[0].values[0][0], expected, wml.text);
      const input = model === 'intents-tfidf' ? (await get(url(`/v2/models/${model}`))).json.inputs[0] : { name: 'text', shape: [-1, 1] };
      const v2 = await post(url(`/v2/models/${model}/infer`), { inputs: [{ name: input.name, shape: input.shape.length === 2 ? [1, 1] : [1], datatype: 'BYTES', data: [text] }] });
      assert.equal(v2.status, 200, v2.text);
      const label = v2.json.outputs.find((o: { name: string }) => o.name === 'label');
      if (label) assert.deepEqual(label.data, [expected]);
    });
  }

  test('a deployment name and a name@alias work as modelIdentifier', async () => {
    await server.registry.setAlias('default', 'intents-keras', 'production', 1);
    const byAlias = await pega({ modelIdentifier: 'intents-keras@production', text: 'bye, see you later' });
    assert.equal(byAlias.status, 200, byAlias.text);
    assert.equal(byAlias.json.category, 'goodbye');
    const created = await post(url('/api/v1/deployments'), { name: 'chatbot', target: { model: 'intents-tfidf' }, authMode: 'public' });
    assert.equal(created.status, 201, created.text);
    const byDeployment = await pega({ modelIdentifier: 'chatbot', text: 'bye, see you later' });
    assert.equal(byDeployment.json.category, 'goodbye');
    const byId = await pega({ modelIdentifier: created.json.id, text: 'bye, see you later' });
    assert.equal(byId.status, 200, byId.text);
  });

  test('other scripts and emoji are classified, not refused', async () => {
    for (const text of ['γεια σου, καλημέρα', '你好，早上好', 'مرحبا', '👋😀 hi', 'Ünïcödé façade']) {
      const r = await pega({ modelIdentifier: 'intents-tfidf', text });
      assert.equal(r.status, 200, `${text}: ${r.text}`);
      assert.ok(classes.includes(r.json.category));
    }
  });

  test('bad input: each gets a clear answer naming what was wrong', async () => {
    const cases: [unknown, number, RegExp][] = [
      [{ modelIdentifier: 'intents-tfidf', text: '' }, 400, /text is empty/],
      [{ modelIdentifier: 'intents-tfidf', text: ' \t\n  ' }, 400, /only whitespace/],
      [{ modelIdentifier: 'intents-tfidf', text: 'word '.repeat(200_000) }, 413, /text is 1000000 bytes; the limit is 100000/],
      [{ modelIdentifier: 'intents-tfidf' }, 400, /text/],
      [{ text: 'hello' }, 400, /modelIdentifier/],
      [{ modelIdentifier: 'no-such-model', text: 'hello' }, 404, /no-such-model/],
    ];
    for (const [body, status, message] of cases) {
      const r = await pega(body);
      assert.equal(r.status, status, `${JSON.stringify(body).slice(0, 80)} -> ${r.text.slice(0, 200)}`);
      assert.match(r.json.error, message);
    }
    const invalidUtf8 = Buffer.concat([Buffer.from('{"modelIdentifier":"intents-tfidf","text":"ab'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]);
    const bad = await post(url('/noauth/predict'), invalidUtf8);
    assert.equal(bad.status, 400, bad.text);
    assert.match(bad.json.error, /not valid UTF-8/);
  });
});
