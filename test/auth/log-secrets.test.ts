import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXAMPLES } from '../helpers/server.js';
import { startServeProcess, type Exit } from '../helpers/serve-process.js';
import { basic, bearer, login, postForm, request, send } from './auth-server.js';

const ADMIN_PASSWORD = 'Adm1n-Pa55word-Secret-7f3a';
const WRONG_PASSWORD = 'Wr0ng-Pa55word-Guess-91c2';
const SETOSA = { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 };

/**
 * `plinth serve` as a child process with debug logging and the access log on, its stdout and
 * stderr captured: everything the server writes, as an operator's log collector would get it.
 */
describe('no secret, password, token or key appears in the log', () => {
  let dir: string;
  let child: ChildProcess;
  let exited: Promise<Exit>;
  let output: () => string;
  let base: string;
  const secrets = new Map<string, string>();
  const keep = (what: string, value: string) => {
    assert.ok(typeof value === 'string' && value.length >= 16, `${what} should be a real secret: ${value}`);
    secrets.set(what, value);
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'plinth-logs-'));
    await cp(join(EXAMPLES, 'iris'), join(dir, 'iris'), { recursive: true });
    const server = await startServeProcess(['--models', dir], {
      PLINTH_LOG_LEVEL: 'debug',
      PLINTH_ACCESS_LOG: 'true',
      PLINTH_AUTH: 'on',
      PLINTH_ADMIN_PASSWORD: ADMIN_PASSWORD,
      PLINTH_DATA_DIR: join(dir, '.data'),
    });
    ({ child, exited, output } = server);
    base = server.url;
  });

  after(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  });

  test('a session, clients, tokens, API keys, predictions and refusals leave no secret in the debug and access log', async () => {
    const server = { url: base };
    keep('admin password', ADMIN_PASSWORD);
    keep('wrong password', WRONG_PASSWORD);

    // A failed sign-in, then a real one (session cookie and CSRF token).
    assert.equal((await send('POST', `${base}/login`, { username: 'admin', password: WRONG_PASSWORD })).status, 401);
    assert.equal((await postForm(`${base}/login`, { username: 'admin', password: WRONG_PASSWORD })).status, 401);
    const session = await login(server, 'admin', ADMIN_PASSWORD);
    keep('session cookie', session.cookie.split('=')[1]!);
    keep('CSRF token', session.csrf);

    // A client (secret shown once), rotated (a second secret).
    const created = await send('POST', `${base}/api/v1/clients`, { name: 'pega', scopes: ['predict'] }, session.headers);
    assert.equal(created.status, 201, created.text);
    const clientId = created.json.client_id as string;
    keep('client secret', created.json.client_secret);
    const rotated = await send('POST', `${base}/api/v1/clients/${clientId}/rotate`, undefined, session.headers);
    assert.equal(rotated.status, 200, rotated.text);
    const secret = rotated.json.client_secret as string;
    keep('rotated client secret', secret);

    // Tokens: HTTP Basic, body credentials, a wrong secret.
    const byBasic = await postForm(`${base}/oauth/token`, { grant_type: 'client_credentials' }, basic(clientId, secret));
    assert.equal(byBasic.status, 200, byBasic.text);
    keep('access token (Basic)', byBasic.json.access_token);
    const byBody = await postForm(`${base}/oauth/token`, { grant_type: 'client_credentials', client_id: clientId, client_secret: secret });
    assert.equal(byBody.status, 200, byBody.text);
    keep('access token (body)', byBody.json.access_token);
    assert.equal((await postForm(`${base}/oauth/token`, { grant_type: 'client_credentials', client_id: clientId, client_secret: `${secret}x` })).status, 401);

    // An API key, used directly and exchanged for a token.
    const key = await send('POST', `${base}/api/v1/api-keys`, { name: 'notebook', space: 'default', scopes: ['predict'] }, session.headers);
    assert.equal(key.status, 201, key.text);
    const apiKey = key.json.api_key as string;
    keep('API key', apiKey);
    const exchanged = await postForm(`${base}/oauth/token`, { grant_type: 'urn:ibm:params:oauth:grant-type:apikey', apikey: apiKey });
    assert.equal(exchanged.status, 200, exchanged.text);
    keep('access token (API key)', exchanged.json.access_token);

    // Predictions with each credential; a token in the query string (refused, but its URL is logged).
    for (const credential of [byBasic.json.access_token, byBody.json.access_token, exchanged.json.access_token, apiKey]) {
      const r = await send('POST', `${base}/models/iris/predict`, SETOSA, bearer(credential));
      assert.equal(r.status, 200, r.text);
    }
    const inQuery = await send('POST', `${base}/models/iris/predict?access_token=${encodeURIComponent(byBasic.json.access_token)}`, SETOSA);
    assert.equal(inQuery.status, 400, inQuery.text);
    const keyInQuery = await request(`${base}/api/v1/models?apikey=${encodeURIComponent(apiKey)}&space=default`, { headers: bearer(apiKey) });
    assert.notEqual(keyInQuery.status, 500);

    // Introspection and revocation send the token in the body.
    assert.equal((await postForm(`${base}/oauth/introspect`, { token: byBasic.json.access_token }, basic(clientId, secret))).status, 200);
    assert.equal((await postForm(`${base}/oauth/revoke`, { token: byBasic.json.access_token }, basic(clientId, secret))).status, 200);
    assert.equal((await send('POST', `${base}/models/iris/predict`, SETOSA, bearer(byBasic.json.access_token))).status, 401);
    assert.equal((await send('POST', `${base}/logout`, undefined, session.headers)).status, 204);

    // Stop the server so everything it logged is flushed.
    child.kill('SIGTERM');
    await exited;

    // The log was written, at debug level with the access log on, and covers these requests...
    const log = output();
    const lines = log.split('\n').filter((l) => l.startsWith('{'));
    assert.ok(lines.filter((l) => l.includes('"incoming request"')).length >= 15, `access log lines missing:\n${log.slice(0, 2000)}`);
    assert.ok(log.includes(`/api/v1/clients/${clientId}/rotate`), 'the access log names the routes called');
    // Each request's lines carry its id (the request logger is made on first use, with the id bound).
    assert.ok(lines.filter((l) => l.includes('"incoming request"')).every((l) => /"reqId":"[^"]+"/.test(l)), 'access log lines carry reqId');
    assert.ok(log.includes('access_token=[Redacted]'), 'the token in the query string is logged redacted');
    assert.ok(log.includes('apikey=[Redacted]&space=default'), 'only the secret query parameter is redacted');
    // ...and holds none of the secrets, whole or in part (a JWT's signature, an API key's secret part).
    for (const [what, value] of secrets) {
      assert.ok(!log.includes(value), `the log contains the ${what}`);
      const tail = value.includes('.') ? value.split('.').pop()! : value.slice(-24);
      assert.ok(!log.includes(tail), `the log contains part of the ${what}`);
    }
  });
});
