/** Talking to a `serve` child process: its pino log lines as they arrive, and half-sent requests. */
import { request } from 'node:http';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';

export type Json = { status: number; body: unknown };

/** Pino lines of the child's stderr, as they arrive; `waitFor` resolves on the first line matching. */
export function logLines(child: { readonly stderr: Readable | null }) {
  const lines: Array<Record<string, unknown>> = [];
  const waiters: Array<{ test: (l: Record<string, unknown>) => boolean; done: () => void }> = [];
  if (child.stderr === null) throw new Error('no stderr');
  createInterface({ input: child.stderr }).on('line', (text) => {
    if (!text.startsWith('{')) return; // TensorFlow's own lines
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null) return;
    const line = Object.fromEntries(Object.entries(parsed));
    lines.push(line);
    for (const w of waiters.filter((x) => x.test(line))) {
      waiters.splice(waiters.indexOf(w), 1);
      w.done();
    }
  });
  const waitFor = (test: (l: Record<string, unknown>) => boolean) =>
    lines.some(test) ? Promise.resolve() : new Promise<void>((done) => waiters.push({ test, done }));
  return { lines, waitFor };
}

/** A POST whose body is sent in two halves: the second only when `finish()` is called. */
export function halfSent(port: number, body: string) {
  const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/invocations', agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } });
  const response = new Promise<Json>((resolve, reject) => {
    req.on('error', reject);
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c: string) => (text += c)).on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
  });
  const half = Math.floor(body.length / 2);
  req.write(body.slice(0, half));
  return { response, finish: () => req.end(body.slice(half)) };
}
