/**
 * A request body, up to a limit. A declared Content-Length over the limit is refused before any
 * byte is read; a body that grows past it (chunked, or a lying length) stops being read there: the
 * request is paused and nothing more is kept. The 413 then goes out with `Connection: close`, after
 * the server has read and dropped the rest of the body for a bounded time (server.ts `linger`), so the
 * client reads the reply instead of a reset.
 */
import type { IncomingMessage } from 'node:http';
import { RequestError } from './http-error.js';

/** The client went away before its body arrived: nobody is left to answer. */
export class ClientGoneError extends Error {
  constructor(cause: unknown) {
    super('the client closed the connection before sending its whole request body', { cause });
    this.name = 'ClientGoneError';
  }
}

export function tooLarge(limit: number, detail: string): RequestError {
  const mb = Number((limit / 2 ** 20).toPrecision(6));
  return new RequestError(413, 'PAYLOAD_TOO_LARGE', `The request body is larger than the limit of ${mb} MB (${limit} bytes, max_body_mb): ${detail}`);
}

export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    return Promise.reject(tooLarge(limit, `Content-Length is ${declared}`));
  }
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onGone);
      req.off('aborted', onGone);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        req.pause();
        chunks.length = 0;
        reject(tooLarge(limit, `more than ${limit} bytes arrived`));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onGone = (error?: unknown) => {
      cleanup();
      reject(new ClientGoneError(error));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onGone);
    req.on('aborted', onGone);
  });
}
