import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PlinthError } from '../../src/core/errors.js';
import { assertAliasName, formatModelUri, isValidAliasName, parseModelReference } from '../../src/core/model-uri.js';

test('model references: plain names, aliases, MLflow URIs by version, alias and latest', () => {
  assert.deepEqual(parseModelReference('iris'), { name: 'iris' });
  assert.deepEqual(parseModelReference('credit-risk.v2_final'), { name: 'credit-risk.v2_final' });
  assert.deepEqual(parseModelReference('iris@production'), { name: 'iris', alias: 'production' });
  assert.deepEqual(parseModelReference('models:/iris/3'), { name: 'iris', version: 3 });
  assert.deepEqual(parseModelReference('models:/iris/123456789'), { name: 'iris', version: 123456789 });
  assert.deepEqual(parseModelReference('models:/iris@production'), { name: 'iris', alias: 'production' });
  assert.deepEqual(parseModelReference('models:/iris/latest'), { name: 'iris', alias: 'latest' });
  assert.deepEqual(parseModelReference('models:/iris/best'), { name: 'iris', alias: 'best' });
  assert.deepEqual(parseModelReference('models:/iris'), { name: 'iris' });
  assert.deepEqual(parseModelReference('iris@latest'), { name: 'iris', alias: 'latest' });
});

test('model references: malformed ones are INVALID_INPUT naming the rule and what was expected', () => {
  const cases: [string, RegExp][] = [
    ['', /it is empty/],
    ['models:/', /names no model/],
    ['models:iris/3', /starts with 'models:\/'/],
    ['models://iris/3', /starts with 'models:\/'/],
    ['models:/iris/', /nothing follows/],
    ['models:/iris/0', /version '0' must be a whole number/],
    ['models:/iris/007', /without leading zeros/],
    ['models:/iris/1234567890', /from 1 to 999999999/],
    ['models:/iris/3/extra', /more than one '\/'/],
    ['models:/iris@prod/3', /either '@alias' or '\/version'/],
    ['models:/iris/Production', /alias 'Production' must be/],
    ['iris@', /alias '' must be/],
    ['iris@a@b', /more than one '@'/],
    ['iris@Prod', /alias 'Prod' must be/],
    ['iris@1abc', /alias '1abc' must be/],
    [`iris@a${'b'.repeat(63)}`, /alias 'ab+' must be/],
    ['iris/3', /plain reference has no '\/'/],
    ['../etc', /plain reference has no '\/'/],
    ['..hidden', /model name must be/],
    ['-iris', /model name must be/],
    ['ir is', /model name must be/],
    ['@prod', /names no model/],
    ['x'.repeat(400), /longer than/],
    ['iris\u0000@prod', /model name must be/],
  ];
  for (const [reference, message] of cases) {
    assert.throws(
      () => parseModelReference(reference),
      (err: unknown) => {
        assert.ok(err instanceof PlinthError, `${JSON.stringify(reference)}: ${String(err)}`);
        assert.equal(err.code, 'INVALID_INPUT');
        assert.match(err.message, message, JSON.stringify(reference));
        assert.match(err.message, /expected 'name', 'name@alias', 'models:\/name\/<version>'/);
        assert.doesNotMatch(err.message, /\u0000/, 'control characters are escaped');
        return true;
      },
      JSON.stringify(reference),
    );
  }
});

test('alias names: [a-z][a-z0-9_-]{0,62}', () => {
  for (const ok of ['a', 'production', 'staging-2', 'ab_c', `a${'b'.repeat(62)}`]) assert.ok(isValidAliasName(ok), ok);
  for (const bad of ['', 'A', '1a', '-a', 'a.b', 'a b', `a${'b'.repeat(63)}`]) assert.equal(isValidAliasName(bad), false, bad);
  assert.throws(() => assertAliasName('Prod'), (err: unknown) => err instanceof PlinthError && err.code === 'INVALID_INPUT' && /lower-case/.test(err.message));
});

test('formatModelUri is the inverse of parseModelReference for URIs', () => {
  for (const uri of ['models:/iris/3', 'models:/iris@production', 'models:/iris']) assert.equal(formatModelUri(parseModelReference(uri)), uri);
});
