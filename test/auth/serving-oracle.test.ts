import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { AccessControl } from '../../src/auth/access-control.js';
import { buildRoutePolicy, type SpaceDirectory } from '../../src/auth/route-policy.js';
import { breastCancer } from '../jobs/jobs-http.js';
import { readResponse, type Reply } from '../helpers/server.js';
import { bearer, login, send } from './auth-server.js';
import { ADMIN_PASSWORD, startTwoSpaces, type TwoSpaces } from './two-spaces.js';

/**
 * The serving routes must not tell a caller outside a space whether a name is served there: a
 * team-b deployment's name or id answers exactly as a name served nowhere (status, body once the
 * name is replaced, headers such as WWW-Authenticate), whatever the body, its content type, the
 * version or the query, for a key of the default space, a key of team-a, a bad token and no
 * credential. (The route table walk sends valid bodies only, so a name served nowhere reached body
 * validation and answered 400 where team-b's answered 404.)
 */

const bc = breastCancer();
const row = bc.lines[0]!.split(',').map(Number);
const record = Object.fromEntries(bc.features.map((f, i) => [f, row[i]]));
const v2 = { inputs: [{ name: 'input', shape: [1, 30], datatype: 'FP32', data: row }] };
const csv = `${bc.header}\n${bc.lines[0]}\n`;
const PEGA = ['POST /auth/predict', 'POST /noauth/predict'];

/** The serving routes that name what they serve (in the path, or Pega's modelIdentifier), from the route policy itself. */
function servingRoutes(): string[] {
  const policy = buildRoutePolicy({} as AccessControl, {} as SpaceDirectory);
  return [...policy].filter(([route, rule]) => (rule.mayBePublic && /:(name|id)/.test(route)) || PEGA.includes(route)).map(([route]) => route);
}

interface Call {
  label: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

const json = (label: string, path: string, body: unknown): Call => ({ label, path, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const typed = (label: string, path: string, type: string, body: string, extra: Record<string, string> = {}): Call => ({ label, path, headers: { 'content-type': type, ...extra }, body });

/** A V2 binary request (Open Inference binary tensor extension): a JSON header of the given length, then the tensor bytes. */
function binaryV2(path: string, headerLength?: number): Call {
  const header = JSON.stringify({ inputs: [{ name: 'input', shape: [1, 30], datatype: 'FP32', parameters: { binary_data_size: 120 } }] });
  const body = Buffer.concat([Buffer.from(header), Buffer.from(new Float32Array(row).buffer)]);
  return { label: `binary, header ${headerLength ?? 'right'}`, path, headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(headerLength ?? Buffer.byteLength(header)) }, body: body.toString('latin1') };
}

/** Each way of calling a route for a name: a valid body, invalid ones, other content types, bad versions and queries. */
function callsOf(route: string, name: string): Call[] {
  const [method, url] = route.split(' ') as [string, string];
  const versions = url.includes(':version') ? ['1', '999', 'abc', 'best', '0'] : ['1'];
  const paths = versions.map((v) => url.replace(':name', encodeURIComponent(name)).replace(':id', encodeURIComponent(name)).replace(':version', v));
  const calls: Call[] = [];
  for (const path of paths) {
    calls.push({ label: 'bad query, no body', path: `${path}?probabilities=maybe&explain=nope&top=-1` });
    if (method === 'GET') {
      calls.push({ label: 'no body', path });
      continue;
    }
    // Bodies that no route takes.
    calls.push(json('a string', path, 'x'), json('null', path, null), json('an array', path, [1]), typed('malformed JSON', path, 'application/json', '{"inputs": ['));
    // The other versions: only whether the version is looked at before the name.
    if (path !== paths[0]) continue;
    if (PEGA.includes(route)) {
      calls.push(
        json('valid', path, { modelIdentifier: name, text: 'x' }),
        json('modelIdentifier a number', path, { modelIdentifier: 5, text: 'x' }),
        json('text a number', path, { modelIdentifier: name, text: 5 }),
        json('no text', path, { modelIdentifier: name }),
        json('extra field', path, { modelIdentifier: name, text: 'x', more: [1] }),
        typed('form', path, 'application/x-www-form-urlencoded', new URLSearchParams({ modelIdentifier: name, text: 'x' }).toString()),
        typed('form without text', path, 'application/x-www-form-urlencoded', new URLSearchParams({ modelIdentifier: name }).toString()),
        typed('text/plain', path, 'text/plain', JSON.stringify({ modelIdentifier: name, text: 'x' })),
        typed('csv', path, 'text/csv', `modelIdentifier,text\n${name},x\n`),
      );
      continue;
    }
    const valid = url.endsWith('/infer') || (url.startsWith('/v2/') && url.endsWith('/explain')) ? v2
      : url.includes('invocation') ? { dataframe_records: [record] }
      : url.startsWith('/ml/v4/') ? { input_data: [{ fields: bc.features, values: [row] }] }
      : record;
    calls.push(
      json('valid', path, valid),
      json('wrong fields', path, { inputs: 5, dataframe_records: 'x', input_data: {}, mean_radius: 'big' }),
      typed('text/plain', path, 'text/plain', JSON.stringify(valid)),
      typed('csv', path, 'text/csv', csv),
      typed('bad csv', path, 'text/csv', 'a,b\n"unclosed\n'),
      typed('form', path, 'application/x-www-form-urlencoded', 'a=1'),
      typed('octet-stream without header', path, 'application/octet-stream', 'xxxx'),
      binaryV2(path),
      binaryV2(path, 100_000),
    );
  }
  return calls;
}

/** Headers that differ between any two answers (time, request id, the body's length). */
const VOLATILE = new Set(['date', 'x-request-id', 'content-length', 'connection', 'keep-alive']);

async function invoke(base: string, method: string, call: Call, credential: Record<string, string>): Promise<Reply> {
  return readResponse(await fetch(`${base}${call.path}`, { method, headers: { ...call.headers, ...credential }, body: call.body === undefined ? undefined : Buffer.from(call.body, 'latin1') }));
}

/** An answer with the name it was about replaced, for comparing. */
function shape(reply: Reply, name: string): string {
  const strip = (text: string) => text.replaceAll(name, '<name>').replaceAll(encodeURIComponent(name), '<name>');
  const headers = [...reply.headers].filter(([h]) => !VOLATILE.has(h)).map(([h, v]) => `${h}: ${strip(v)}`).sort();
  return `${reply.status}\n${headers.join('\n')}\n\n${strip(reply.text)}`;
}

/** Calls every serving route every way for each [foreign, missing] name pair; returns what differs. */
async function compare(base: string, routes: string[], credential: Record<string, string>, pairs: [string, string][]): Promise<string[]> {
  const failures: string[] = [];
  for (const route of routes) {
    const method = route.split(' ')[0]!;
    // The pairs side by side (nothing here changes what the server holds), each pair's calls in turn.
    await Promise.all(pairs.map(async ([foreign, missing]) => {
      const missingCalls = callsOf(route, missing);
      for (const [i, call] of callsOf(route, foreign).entries()) {
        const [a, b] = [await invoke(base, method, call, credential), await invoke(base, method, missingCalls[i]!, credential)];
        const what = `${route} ${call.path.split('?')[0]} (${call.label})`;
        if (a.status < 400 || a.status >= 500) failures.push(`${what}: the foreign name answered ${a.status} ${a.text.slice(0, 120)}`);
        else if (shape(a, foreign) !== shape(b, missing)) failures.push(`${what}: ${a.status} ${a.text.slice(0, 120)} vs ${b.status} ${b.text.slice(0, 120)}`);
      }
    }));
  }
  return failures;
}

function assertNone(failures: string[]): void {
  assert.equal(failures.length, 0, `${failures.length} answers tell the names apart:\n${failures.slice(0, 40).join('\n')}`);
}

for (const publicModels of ['', '*']) {
  describe(`serving routes, a name of another space vs one served nowhere${publicModels ? ` (PLINTH_PUBLIC_MODELS=${publicModels})` : ''}`, () => {
    let s: TwoSpaces;
    let routes: string[];
    /** team-b's online deployment by name and by id, and its model: none served to outsiders. */
    let teamB: [string, string][];

    before(async () => {
      s = await startTwoSpaces({ publicModels });
      routes = servingRoutes();
      teamB = [[s.b.online.name, 'no-such-deployment'], [s.b.online.id, randomUUID()], [s.b.model, 'no-such-model']];
    });
    after(() => s.server.close());

    test('the serving routes are the ones the server has', () => {
      assert.ok(routes.length >= 20, routes.join(', '));
      for (const route of routes) {
        const [method, url] = route.split(' ') as ['GET', string];
        assert.ok(s.server.app.hasRoute({ method, url }), route);
      }
    });

    test('a caller who may use the name still gets its validation errors, and a name nothing could have its 400', async () => {
      const bad = (key: Record<string, string>, path: string, body: unknown) => invoke(s.server.url, 'POST', json('', path, body), key);
      const own = await bad(s.keys.carol, '/models/breast-cancer/predict', 'x');
      assert.equal(own.status, 400, own.text);
      assert.match(own.json.error, /body must be object/);
      const member = await bad(s.keys.bob, `/v2/models/${s.b.online.name}/infer`, { inputs: 5 });
      assert.equal(member.status, 400, member.text);
      assert.match(member.json.error, /body\/inputs must be array/);
      const unnamable = await bad(s.keys.carol, '/v2/models/bad..name/infer', v2);
      assert.equal(unnamable.status, 400, unnamable.text);
      assert.match(unnamable.json.error, /model name 'bad\.\.name' is invalid/);
    });

    test('with a key of the default space, and one without the predict scope', async () => {
      assertNone(await compare(s.server.url, routes, s.keys.carol, teamB));
      const admin = await login(s.server, 'admin', ADMIN_PASSWORD);
      const readOnly = await send('POST', `${s.server.url}/api/v1/api-keys`, { name: 'read-only', space: 'default', scopes: ['models:read'] }, admin.headers);
      assert.equal(readOnly.status, 201, readOnly.text);
      assertNone(await compare(s.server.url, routes, bearer(readOnly.json.api_key), teamB.slice(0, 2)));
    });

    test("with team-a's key (the default space's private model is foreign to it too)", async () => {
      const defaultModel: [string, string][] = publicModels ? [] : [['breast-cancer', 'no-such-default-model']];
      assertNone(await compare(s.server.url, routes, s.keys.alice, [...teamB, ...defaultModel]));
    });

    test('without a credential, and with a token that is not valid', async () => {
      const defaultModel: [string, string][] = publicModels ? [] : [['breast-cancer', 'no-such-default-model']];
      assertNone(await compare(s.server.url, routes, {}, [...teamB, ...defaultModel]));
      assertNone(await compare(s.server.url, routes, { authorization: 'Bearer not-a-token' }, teamB.slice(0, 2)));
    });
  });
}
