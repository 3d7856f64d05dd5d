/**
 * Every result quoted in README.md, docs/ and bench/README.md has a result file behind it: each number with a unit
 * of a measurement (%, s, min, h, ms, ×, GB, MB, img/s, pt) in their prose must appear, as written,
 * in some file under bench/results/ (which says how it was measured, on what, at which commit).
 * Settings are written as code (`120` s, `20%`) and are not results: code spans and blocks are
 * skipped. Fails listing each unbacked number with its file and line; a changed number only needs
 * its result file committed, not this test changed.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from '../support/cli.js';

/** A number followed by a unit of a measured quantity; `32×32` (a size) is not a ratio. */
export const QUANTITY = /(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?\s?(?:%|×(?!\d)|(?:s|min|h|ms|GB|MB|pt|img\/s|MB\/s)(?![\w/]))/g;

/** The prose of a markdown file: fenced blocks and inline code removed, line by line. */
export function prose(markdown: string): string[] {
  let fenced = false;
  return markdown.split('\n').map((line) => {
    if (line.trimStart().startsWith('```')) {
      fenced = !fenced;
      return '';
    }
    return fenced ? '' : line.replace(/`[^`]*`/g, ' ').replace(/<!--.*?-->/g, ' ');
  });
}

/** "92.88 %" and "92.88%" are the same quote. */
export const normalize = (text: string) => text.replace(/(\d)\s+(?=[%×a-zA-Z])/g, '$1');

export function quantities(markdown: string): Array<{ line: number; quote: string }> {
  return prose(markdown).flatMap((text, i) => [...text.matchAll(QUANTITY)].map((m) => ({ line: i + 1, quote: normalize(m[0]) })));
}

const list = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? list(join(dir, e.name)) : [join(dir, e.name)]));

/** The pages that quote results: the markdown files at the root, under docs/, and bench/README.md. */
export function pages(): string[] {
  const root = readdirSync(REPO, { withFileTypes: true }).filter((e) => e.isFile() && e.name.endsWith('.md')).map((e) => e.name);
  const docs = list(join(REPO, 'docs')).filter((f) => f.endsWith('.md')).map((f) => f.slice(REPO.length));
  return [...root, ...docs, 'bench/README.md'];
}

describe('numbers in README, docs and bench/README.md', () => {
  it('finds quantities in prose only, sizes aside', () => {
    assert.deepEqual(quantities('took 2 min 3 s, 95.50% and 5.0×\nat 32×32 with `20%` held out\n```\n99%\n```\n<!-- 7 s -->'), [
      { line: 1, quote: '2min' },
      { line: 1, quote: '3s' },
      { line: 1, quote: '95.50%' },
      { line: 1, quote: '5.0×' },
    ]);
    assert.deepEqual(quantities('1,200 source labels, 10 s of 250 img/s, 2 GB and a 3-conv net (5s)'), [
      { line: 1, quote: '10s' },
      { line: 1, quote: '250img/s' },
      { line: 1, quote: '2GB' },
      { line: 1, quote: '5s' },
    ]);
  });

  it('each one appears in a file under bench/results/', () => {
    const results = normalize(list(join(REPO, 'bench', 'results')).map((f) => readFileSync(f, 'utf8')).join('\n'));
    const docs = pages();
    assert.ok(docs.includes('README.md') && docs.includes('bench/README.md') && docs.includes('docs/benchmarks.md'), docs.join(', '));
    const missing = docs.flatMap((file) =>
      quantities(readFileSync(join(REPO, file), 'utf8'))
        .filter((q) => !results.includes(q.quote))
        .map((q) => `${file}:${q.line} ${q.quote}`),
    );
    assert.deepEqual(missing, [], 'quote a number from a committed bench/results/ file (with its command and commit), or mark the passage "not re-measured"');
  });
});
