import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EXAMPLES, startServer, type TestServer } from '../helpers/server.js';
import { tgzBytes, torchZip, zipBytes } from '../registry/archive-builders.js';
import { upload } from './registry-http.js';

/**
 * Issue 12, item 11: pickles are refused by their content, whatever their name, in .zip and
 * .tar.gz uploads (400 naming the file and what it is); honest files that merely look a little
 * like pickles (text starting with '(' and ending with '.') pass.
 */

/** Real pickles written by Python's own pickle module (Debian's python3 stdlib), base64 per line. */
function pythonPickles(): Record<string, Buffer> {
  const script = `
import base64, collections, gzip, pickle, zlib
obj = {'weights': [1, 2.5, 'x'], 'none': None, 'ordered': collections.OrderedDict(a=1)}
out = {}
for p in range(6):
    out[f'protocol {p}'] = pickle.dumps(obj, protocol=p)
# joblib.dump(..., compress=...) writes a zlib or gzip stream of the pickle
out['joblib zlib'] = zlib.compress(pickle.dumps(obj, protocol=4), 3)
out['joblib gzip'] = gzip.compress(pickle.dumps(obj, protocol=3))
for k, v in out.items():
    print(k + '=' + base64.b64encode(v).decode())
`;
  const text = execFileSync('python3', ['-c', script], { encoding: 'utf8' });
  return Object.fromEntries(text.trim().split('\n').map((line) => {
    const at = line.indexOf('=');
    return [line.slice(0, at), Buffer.from(line.slice(at + 1), 'base64')];
  }));
}

/** A NumPy .npy (format 1.0) of dtype object: its data is a pickle (np.save with allow_pickle). */
function objectNpy(pickled: Buffer): Buffer {
  let header = "{'descr': '|O', 'fortran_order': False, 'shape': (3,), }";
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const prefix = Buffer.alloc(10);
  Buffer.from('\x93NUMPY\x01\x00', 'latin1').copy(prefix);
  prefix.writeUInt16LE(header.length, 8);
  return Buffer.concat([prefix, Buffer.from(header, 'latin1'), pickled]);
}

describe('pickles by another name are refused by content', () => {
  let server: TestServer;
  let iris: Buffer;
  const kinds: [string, Buffer, RegExp][] = [];
  before(async () => {
    iris = await readFile(join(EXAMPLES, 'iris/1/model.onnx'));
    server = await startServer({});
    const pickles = pythonPickles();
    for (let p = 0; p <= 5; p++) kinds.push([`protocol ${p}`, pickles[`protocol ${p}`]!, /a Python pickle \(found by its content\)/]);
    kinds.push(['joblib zlib', pickles['joblib zlib']!, /compressed Python pickle \(a joblib file/]);
    kinds.push(['joblib gzip', pickles['joblib gzip']!, /compressed Python pickle \(a joblib file/]);
    kinds.push(['npy of objects', objectNpy(pickles['protocol 2']!), /NumPy array of Python objects/]);
    kinds.push(['torch zip', torchZip(), /zip archive holding 'archive\/data.pkl'/]);
  });
  after(() => server.close());

  const names = ['readme.txt', 'assets/notes.md', 'vocab.json', 'weights.bin'];

  for (const archive of ['zip', 'tar.gz'] as const) {
    test(`each kind, renamed to an innocent name, in a .${archive}, is refused with 400 naming the file and why (protocols 0/1, joblib and npy failed before: stored)`, async () => {
      assert.equal(kinds.length, 10);
      for (const [i, [kind, bytes, why]] of kinds.entries()) {
        const name = names[i % names.length]!;
        const files = [{ name: 'model.onnx', data: iris }, { name, data: bytes }];
        const body = archive === 'zip' ? zipBytes(files) : tgzBytes(files);
        const r = await upload(server, 'smuggled', `model.${archive}`, body);
        assert.equal(r.status, 400, `${kind} as ${name}: ${r.text}`);
        assert.equal(r.json.code, 'INVALID_INPUT');
        assert.ok(r.json.error.includes(`'${name}'`), `${kind}: the message names the file: ${r.json.error}`);
        assert.match(r.json.error, why, kind);
      }
    });
  }

  test('honest files that start with "(" or "I" and end with "." pass', async () => {
    const honest = {
      'readme.txt': Buffer.from('(c) 2024 The Plinth authors.\nSee (dp0) in the notes for details.'),
      'notes.md': Buffer.from('(see below) Iris model, trained on 150 rows.'),
      'ints.txt': Buffer.from('I1 is the first item.'),
      'list.txt': Buffer.from('(lp0 was a typo).'),
    };
    const files = [{ name: 'model.onnx', data: iris }, ...Object.entries(honest).map(([name, data]) => ({ name, data }))];
    for (const [archive, body] of [['zip', zipBytes(files)], ['tar.gz', tgzBytes(files)]] as const) {
      const r = await upload(server, 'honest', `model.${archive}`, body);
      assert.equal(r.status, 201, `${archive}: ${r.text}`);
    }
  });
});
