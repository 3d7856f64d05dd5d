import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ParamError } from '../../src/errors.js';
import { parseFlags } from '../../src/entry/args.js';

describe('parseFlags', () => {
  it('reads --name value and --name=value, with dashes or underscores', () => {
    assert.deepEqual(parseFlags(['--samples_per_class', '30', '--max-epochs=5', '--classes=']), {
      samples_per_class: '30',
      max_epochs: '5',
      classes: '',
    });
  });
  it('keeps negative numbers as values', () => {
    assert.deepEqual(parseFlags(['--seed', '-1']), { seed: '-1' });
  });
  it('refuses a flag without a value, a positional argument and conflicting repeats', () => {
    assert.throws(() => parseFlags(['--seed']), (e: unknown) => e instanceof ParamError && /needs a value/.test(e.message));
    assert.throws(() => parseFlags(['oops']), (e: unknown) => e instanceof ParamError && /Unexpected argument "oops"/.test(e.message));
    assert.throws(() => parseFlags(['--seed', '1', '--seed', '2']), (e: unknown) => e instanceof ParamError && /given twice/.test(e.message));
  });
});
