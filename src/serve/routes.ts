/**
 * The scoring server's routes, as MLflow's (mlflow/pyfunc/scoring_server/__init__.py `init`):
 * `GET /ping` and `GET /health` answer "\n", `GET /version` the version (transferkit's),
 * `POST /invocations` scores a JSON body into `{"predictions": [[p0, p1, …], …]}` (class
 * probabilities, one row per image, in class_names order). One more: `POST /predict-image` takes the
 * raw bytes of one image and answers its top classes.
 */
import type { IncomingMessage } from 'node:http';
import type { ImageDecoder } from '../pipeline/data/image-decode.js';
import { topK } from '../predict/classifier.js';
import type { Batcher } from './batcher.js';
import { readBody } from './body.js';
import { checkImageContentType, decodeUpload } from './image-upload.js';
import { checkContentType, decodeJson, scoringImages } from './scoring-request.js';

/** What the server needs of a loaded model (src/predict/classifier.ts `Classifier` has it). */
export interface ServedModel {
  readonly classNames: readonly string[];
  /** [height, width, 3] of one raw RGB image. */
  readonly contract: { readonly shape: readonly [number, number, number] };
  /** The side images are resized to for /predict-image. */
  readonly inputSize: number;
  predict(pixels: Float32Array, n: number): Promise<Float32Array>;
}

export interface RouteContext {
  readonly model: ServedModel;
  readonly batcher: Batcher;
  readonly decoder: ImageDecoder;
  readonly maxBodyBytes: number;
  readonly maxPixels: number;
  readonly topK: number;
  readonly version: string;
}

export interface Reply {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
  /** Images scored, and body keys ignored as MLflow ignores them: for the request's log line. */
  readonly images?: number;
  readonly ignored?: readonly string[];
}

export interface Route {
  readonly method: 'GET' | 'POST';
  handle(req: IncomingMessage): Promise<Reply>;
}

const json = (value: unknown, images: number, ignored: readonly string[] = []): Reply => ({
  status: 200,
  contentType: 'application/json',
  body: JSON.stringify(value),
  images,
  ...(ignored.length === 0 ? {} : { ignored }),
});

/** `n × classes` float32 probabilities → one list per image (float32 values, exactly as doubles). */
export function rowsOf(probabilities: Float32Array, n: number, classes: number): number[][] {
  return Array.from({ length: n }, (_, i) => Array.from(probabilities.subarray(i * classes, (i + 1) * classes)));
}

export function routes(ctx: RouteContext): ReadonlyMap<string, Route> {
  const [height, width] = ctx.model.contract.shape;
  const classes = ctx.model.classNames.length;
  const ping: Route = { method: 'GET', handle: () => Promise.resolve({ status: 200, contentType: 'application/json', body: '\n' }) };
  return new Map<string, Route>([
    ['/ping', ping],
    ['/health', ping],
    ['/version', { method: 'GET', handle: () => Promise.resolve({ status: 200, contentType: 'text/plain; charset=utf-8', body: ctx.version }) }],
    [
      '/invocations',
      {
        method: 'POST',
        async handle(req) {
          checkContentType(req.headers['content-type']);
          const input = scoringImages(decodeJson(await readBody(req, ctx.maxBodyBytes)), { height, width });
          const probabilities = await ctx.batcher.submit(input.pixels, input.n);
          return json({ predictions: rowsOf(probabilities, input.n, classes) }, input.n, input.ignored);
        },
      },
    ],
    [
      '/predict-image',
      {
        method: 'POST',
        async handle(req) {
          checkImageContentType(req.headers['content-type']);
          const pixels = decodeUpload(await readBody(req, ctx.maxBodyBytes), { size: ctx.model.inputSize, maxPixels: ctx.maxPixels, decoder: ctx.decoder });
          const probabilities = await ctx.batcher.submit(pixels, 1);
          return json({ predictions: topK(probabilities, ctx.model.classNames, ctx.topK) }, 1);
        },
      },
    ],
  ]);
}
