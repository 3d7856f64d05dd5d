/**
 * The HTTP side of `transferkit serve` (node:http): routing, replies in MLflow's shapes, one log line
 * per request, and a graceful shutdown: stop accepting connections, answer every request in flight
 * or queued for the model, then close. Requests share the model through the micro-batching queue.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ModelError, ParamError } from '../errors.js';
import type { Logger } from '../log.js';
import type { ImageDecoder } from '../pipeline/data/image-decode.js';
import { Batcher } from './batcher.js';
import { ClientGoneError } from './body.js';
import { RequestError, errorBody } from './http-error.js';
import { routes, type Reply, type ServedModel } from './routes.js';

/** How long, and for how many bytes, a refused request's remaining body is read and dropped before the reply. */
const LINGER_MS = 2000;
const LINGER_BYTES = 64 * 2 ** 20;

/**
 * Reads and drops the rest of a request body (bounded by LINGER_MS and LINGER_BYTES), so that the
 * client has sent it all and reads the reply that follows, as a web server's lingering close does.
 */
function linger(req: IncomingMessage): Promise<void> {
  return new Promise<void>((resolve) => {
    let seen = 0;
    const done = () => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', done);
      req.off('close', done);
      resolve();
    };
    const onData = (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > LINGER_BYTES) done();
    };
    const timer = setTimeout(done, LINGER_MS);
    req.on('data', onData);
    req.on('end', done);
    req.on('close', done);
    req.resume();
  });
}

export interface ServerOptions {
  readonly model: ServedModel;
  readonly decoder: ImageDecoder;
  readonly maxBodyBytes: number;
  readonly maxPixels: number;
  readonly topK: number;
  readonly maxBatch: number;
  readonly version: string;
  readonly logger: Logger;
  readonly now: () => number;
}

export interface ScoringServer {
  readonly server: Server;
  readonly batcher: Batcher;
  /** Listens; resolves with the URL clients use (port 0 picks a free port). */
  listen(port: number, host: string): Promise<string>;
  /** Stops accepting connections, answers what is in flight and queued, then closes. */
  shutdown(): Promise<void>;
}

const noop = (): void => undefined;

function replyFor(error: unknown, logger: Logger): Reply & { headers?: Readonly<Record<string, string>> } {
  if (error instanceof RequestError) {
    const { contentType, body } = errorBody(error);
    return { status: error.status, contentType, body, headers: error.headers };
  }
  logger.error({ err: error }, `prediction failed: ${error instanceof Error ? error.message : String(error)}`);
  const message = `Encountered an unexpected error while evaluating the model: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`;
  return { status: 500, contentType: 'application/json', body: JSON.stringify({ error_code: 'INTERNAL_ERROR', message }) };
}

export function createScoringServer(o: ServerOptions): ScoringServer {
  const [height, width, channels] = o.model.contract.shape;
  if (height !== o.model.inputSize || width !== o.model.inputSize || channels !== 3) {
    throw new ModelError(`the model takes [${o.model.contract.shape.join(', ')}]; serve expects square RGB images of its input size ${o.model.inputSize}`);
  }
  const batcher = new Batcher({
    predict: (pixels, n) => o.model.predict(pixels, n),
    imageValues: height * width * 3,
    classes: o.model.classNames.length,
    maxBatch: o.maxBatch,
    onBatch: (b) => o.logger.debug(b, `batch of ${b.images} image(s) from ${b.requests} request(s)`),
  });
  const table = routes({ ...o, batcher });
  let closing = false;
  let active = 0;
  let drained: (() => void) | undefined;

  const send = async (req: IncomingMessage, res: ServerResponse, reply: Reply & { headers?: Readonly<Record<string, string>> }): Promise<void> => {
    const headers: Record<string, string | number> = { ...reply.headers, 'content-type': reply.contentType, 'content-length': Buffer.byteLength(reply.body) };
    // a body left unread (refused early) or a server going away: this connection ends with the reply
    const unreadBody = !req.complete && (Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined);
    if (closing || unreadBody) headers['connection'] = 'close';
    // a client still sending its body would get a reset (EPIPE) instead of the reply if the connection closed now
    if (unreadBody) await linger(req);
    if (!res.destroyed) res.writeHead(reply.status, headers).end(reply.body);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const started = o.now();
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    let detail: Pick<Reply, 'images' | 'ignored'> = {};
    o.logger.trace({ method: req.method, path }, 'request started');
    res.on('close', () => o.logger.debug({ method: req.method, path, status: res.statusCode, ms: o.now() - started, ...detail }, `${req.method ?? '?'} ${path} ${res.statusCode}`));
    const route = table.get(path);
    let reply: Reply & { headers?: Readonly<Record<string, string>> };
    try {
      if (route === undefined) {
        throw new RequestError(404, 'ENDPOINT_NOT_FOUND', `No route ${req.method ?? ''} ${path}; the routes are ${[...table].map(([p, r]) => `${r.method} ${p}`).join(', ')}`);
      }
      if (req.method !== route.method) {
        throw new RequestError(405, 'METHOD_NOT_ALLOWED', `${path} takes ${route.method}, not ${req.method ?? '?'}`, { headers: { allow: route.method } });
      }
      reply = await route.handle(req);
      detail = { ...(reply.images === undefined ? {} : { images: reply.images }), ...(reply.ignored === undefined ? {} : { ignored: reply.ignored }) };
    } catch (error) {
      if (error instanceof ClientGoneError) return;
      reply = replyFor(error, o.logger);
    }
    if (!res.destroyed) await send(req, res, reply);
  };

  const server = createServer((req, res) => {
    active++;
    req.on('error', noop);
    res.on('close', () => {
      active--;
      if (active === 0) drained?.();
    });
    void handle(req, res).catch((error: unknown) => {
      o.logger.error({ err: error }, 'request handling failed');
      if (!res.headersSent) res.writeHead(500, { connection: 'close' }).end();
    });
  });

  return {
    server,
    batcher,
    listen: (port, host) =>
      new Promise<string>((resolve, reject) => {
        const onError = (error: NodeJS.ErrnoException) => {
          const why = error.code === 'EADDRINUSE' ? 'is in use' : error.code === 'EACCES' ? 'needs more privileges' : `cannot be used (${error.message})`;
          reject(new ParamError('port', `Port ${port} on ${host} ${why}; pick another with --port (0 picks a free one)`, { cause: error }));
        };
        server.once('error', onError);
        server.listen(port, host, () => {
          server.off('error', onError);
          const address: AddressInfo | string | null = server.address();
          const bound = typeof address === 'object' && address !== null ? address.port : port;
          resolve(`http://${host.includes(':') ? `[${host}]` : host}:${bound}`);
        });
      }),
    async shutdown() {
      if (closing) return;
      closing = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      o.logger.info({ inFlight: active, queued: batcher.pending }, `shutting down: answering ${active} request(s) in flight`);
      if (active > 0) await new Promise<void>((resolve) => (drained = resolve));
      await batcher.idle();
      server.closeIdleConnections();
      await closed;
    },
  };
}
