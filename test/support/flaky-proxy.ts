/**
 * An HTTP proxy on 127.0.0.1 in front of a real server that fails a share of the requests,
 * deterministically for a given seed, and can be switched fully down and up again.
 *
 * Failure modes, drawn per request:
 *  - 'status-503':    answers 503 TEMPORARILY_UNAVAILABLE without forwarding.
 *  - 'reset-before':  destroys the connection without forwarding.
 *  - 'drop-response': forwards, lets the server finish, then destroys the connection instead of
 *                     answering: the server has applied the request but the client cannot know.
 *
 *   const proxy = await startFlakyProxy({ target: server.url, failureRate: 0.3, seed: 42 });
 *   new MlflowClient({ trackingUri: proxy.url }); ...; proxy.down(); ...; proxy.up(); await proxy.close();
 */
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { mulberry32 } from '../../src/pipeline/data/sample.js';

export type FailureMode = 'status-503' | 'reset-before' | 'drop-response';

export interface FlakyProxyOptions {
  /** http://127.0.0.1:PORT of the real server. */
  readonly target: string;
  /** Share of requests to fail, 0..1 (default 0). */
  readonly failureRate?: number;
  readonly seed?: number;
  readonly modes?: readonly FailureMode[];
  /** Which requests may fail (default: all). Others are always forwarded. */
  readonly only?: (method: string, path: string) => boolean;
}

export interface FlakyProxyStats {
  requests: number;
  forwarded: number;
  'status-503': number;
  'reset-before': number;
  'drop-response': number;
  /** Connections or requests cut while the proxy was down. */
  refusedWhileDown: number;
}

export interface FlakyProxy {
  readonly url: string;
  readonly stats: Readonly<FlakyProxyStats>;
  setFailureRate(rate: number): void;
  /** Every connection and request is cut until up(). */
  down(): void;
  up(): void;
  close(): Promise<void>;
}

/** The project's seeded PRNG (mulberry32), uniform in [0, 1). */
export const seededRandom = mulberry32;

export async function startFlakyProxy(options: FlakyProxyOptions): Promise<FlakyProxy> {
  const target = new URL(options.target);
  const random = seededRandom(options.seed ?? 1);
  const modes = options.modes ?? ['status-503', 'reset-before', 'drop-response'];
  let failureRate = options.failureRate ?? 0;
  let isDown = false;
  const stats: FlakyProxyStats = { requests: 0, forwarded: 0, 'status-503': 0, 'reset-before': 0, 'drop-response': 0, refusedWhileDown: 0 };
  const sockets = new Set<Socket>();

  const forward = (req: IncomingMessage, res: ServerResponse, dropResponse: boolean): void => {
    const headers: Record<string, string | string[] | undefined> = { ...req.headers, host: target.host };
    delete headers.connection;
    delete headers['keep-alive'];
    const upstream = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers }, (up) => {
      if (dropResponse) {
        up.resume();
        up.on('end', () => req.socket.destroy());
        return;
      }
      const out = { ...up.headers };
      delete out.connection;
      delete out['keep-alive'];
      res.writeHead(up.statusCode ?? 502, out);
      up.pipe(res);
    });
    upstream.on('error', (error) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`flaky proxy: upstream error ${error.message}`);
    });
    req.pipe(upstream);
  };

  const server = createServer((req, res) => {
    stats.requests++;
    if (isDown) {
      stats.refusedWhileDown++;
      req.socket.destroy();
      return;
    }
    const eligible = options.only?.(req.method ?? 'GET', req.url ?? '/') ?? true;
    const mode = eligible && modes.length > 0 && random() < failureRate ? modes[Math.floor(random() * modes.length)] : undefined;
    if (mode !== undefined) stats[mode]++;
    if (mode === 'status-503') {
      req.resume();
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error_code: 'TEMPORARILY_UNAVAILABLE', message: 'flaky proxy: injected failure' }));
    } else if (mode === 'reset-before') {
      req.socket.destroy();
    } else {
      stats.forwarded++;
      forward(req, res, mode === 'drop-response');
    }
  });
  server.on('connection', (socket: Socket) => {
    if (isDown) {
      stats.refusedWhileDown++;
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address: AddressInfo | string | null = server.address();
  if (address === null || typeof address === 'string') throw new Error(`flaky proxy has no TCP address: ${String(address)}`);
  const { port } = address;

  return {
    url: `http://127.0.0.1:${port}`,
    stats,
    setFailureRate: (rate) => {
      if (!(rate >= 0 && rate <= 1)) throw new RangeError(`failure rate must be in [0, 1], got ${rate}`);
      failureRate = rate;
    },
    down: () => {
      isDown = true;
      for (const socket of sockets) socket.destroy();
    },
    up: () => {
      isDown = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
