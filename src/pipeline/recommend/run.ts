/**
 * `recommend`, stage by stage: check the parameters → weights → both domains → a random sample of
 * each through the frozen backbone → similarity (proxy A-distance, MMD; skipped without a source) →
 * the strategy table's plausible cells (./candidates.ts) → pilot runs when they disagree (./pilot.ts)
 * → recommendation.json. Knows nothing of MLflow.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DataError, ParamError } from '../../errors.js';
import { writeFileAtomic } from '../../fs-atomic.js';
import type { PipelineDeps } from '../deps.js';
import { initBackend, type BackendInfo } from '../backend.js';
import { getBackbone, type BackboneSpec } from '../model/backbones.js';
import { resolveWeights, weightsFingerprint, type WeightsSource } from '../model/weights.js';
import { parseParams } from '../params/parse.js';
import { trainParamsSchema, type TrainParams } from '../params/train.js';
import { candidates } from './candidates.js';
import { drawSample, loadDomains, type Domain } from './domains.js';
import { featureExtractor } from './features.js';
import { mmdRbf } from './mmd.js';
import { proxyADistance } from './pad.js';
import type { RecommendParams } from './params.js';
import { choosePilot } from './pilot-choice.js';
import { runPilots } from './pilot.js';
import { buildReport, type RecommendReport, type ReportInput, type SimilarityInput } from './report.js';
import { settingText } from './setting.js';
import { checkSourceParams, planSource } from './source.js';

export type RecommendDeps = PipelineDeps;

export interface RecommendResult {
  readonly report: RecommendReport;
  /** recommendation.json, in the output folder. */
  readonly file: string;
  readonly backend: BackendInfo;
}

export const REPORT_FILE = 'recommendation.json';
/** Each class's share of labelled images the pilots are scored on (never trained on). */
export const PILOT_HOLD_OUT = 0.2;

function inputSizeFor(params: RecommendParams, spec: BackboneSpec): number {
  const size = params.input_size === 0 ? spec.defaultInputSize : params.input_size;
  if (size < spec.minInputSize) {
    throw new ParamError(
      'input_size',
      `Parameter "input_size" must be at least ${spec.minInputSize} for backbone ${spec.name} (or 0 for its default ${spec.defaultInputSize}), got ${size} (number)`,
    );
  }
  return size;
}

/** The target's training parameters as `train` would parse them (train's defaults elsewhere): the base every pilot run varies. */
function pilotBase(params: RecommendParams): TrainParams {
  const raw: Record<string, string> = {};
  const given = { dataset: params.dataset, data_dir: params.data_dir, classes: params.classes, samples_per_class: String(params.samples_per_class), backbone: params.backbone, weights: params.weights, input_size: String(params.input_size), seed: String(params.seed), cache_dir: params.cache_dir, backend: params.backend };
  for (const [k, v] of Object.entries(given)) if (v !== undefined) raw[k] = v;
  return parseParams(trainParamsSchema, raw);
}

/** The similarity measures between a sample of each domain, on the backbone's frozen features. */
async function measureSimilarity(params: RecommendParams, spec: BackboneSpec, weights: WeightsSource, inputSize: number, source: Domain & { from: 'model' | 'params' }, target: Domain, logger: RecommendDeps['logger']): Promise<SimilarityInput & { fingerprint: string }> {
  const n = Math.min(params.domain_samples, source.images.count, target.images.count);
  if (n < 4) {
    throw new DataError(`Only ${n} images can be drawn from each domain (source ${source.images.count}, target ${target.images.count}); the domain classifier needs at least 4 per domain`);
  }
  const extractor = await featureExtractor(spec, weights, inputSize, params.seed);
  try {
    const sourceFeatures = await extractor.features(source.images, drawSample(source.images, n, params.seed, 0x2000));
    const targetFeatures = await extractor.features(target.images, drawSample(target.images, n, params.seed, 0x2001));
    const pad = proxyADistance(sourceFeatures, targetFeatures);
    const mmd = mmdRbf(sourceFeatures, targetFeatures);
    logger.info({ pad: pad.pad, error: pad.error, mmd: mmd.mmd, samples: n, layer: extractor.layer }, 'domain similarity measured');
    return { source, pad, mmd, samples: { source: n, target: n }, features: { layer: extractor.layer, dim: extractor.dim }, fingerprint: extractor.weightsFingerprint };
  } finally {
    extractor.dispose();
  }
}

export async function runRecommend(params: RecommendParams, deps: RecommendDeps): Promise<RecommendResult> {
  const t0 = deps.now();
  const { logger } = deps;
  const spec = getBackbone(params.backbone);
  checkSourceParams(params, spec);
  const inputSize = inputSizeFor(params, spec);
  const backend = await initBackend(params.backend);
  const weights = await resolveWeights(params.weights, spec, deps);
  const sourcePlan = planSource(params, weights);
  const domains = await loadDomains(params, sourcePlan, { ...deps, imageSize: inputSize });
  const { source, target } = domains;
  const similarity = source === undefined || sourcePlan === undefined
    ? undefined
    : await measureSimilarity(params, spec, weights, inputSize, { ...source, from: sourcePlan.from }, target, logger);
  const measured = similarity === undefined ? undefined : { pad: similarity.pad.pad, error: similarity.pad.error, heldOut: 2 * similarity.pad.testPerDomain };
  const table = candidates(domains.labelsPerClass, measured, spec.blocks);
  let pilot: ReportInput['pilot'];
  if (!table.sure && params.pilot === 'auto') {
    const labelled = Object.values(domains.labelsByClass).reduce((a, b) => a + b, 0);
    logger.info({ candidates: table.settings.map(settingText), why: table.why, labelled, epochs: params.pilot_epochs }, 'unsure between settings: a pilot run per candidate on the labelled images (pilot=off skips them)');
    const scores = await runPilots(pilotBase(params), table.settings.map((a) => ({ setting: settingText(a), params: a.params })), { maxEpochs: params.pilot_epochs, holdOutFraction: PILOT_HOLD_OUT }, deps);
    pilot = { scores, choice: choosePilot(table.advice, table.settings, scores) };
  }
  const report = buildReport({
    params,
    table,
    ...(pilot === undefined ? {} : { pilot }),
    target,
    labelsPerClass: domains.labelsPerClass,
    labelsByClass: domains.labelsByClass,
    ...(similarity === undefined ? {} : { similarity }),
    weights: { kind: weights.kind, fingerprint: similarity?.fingerprint ?? await weightsFingerprint(weights) },
    inputSize,
    seconds: (deps.now() - t0) / 1000,
  });
  const file = join(deps.outputDir, REPORT_FILE);
  await mkdir(deps.outputDir, { recursive: true });
  await writeFileAtomic(file, `${JSON.stringify(report, null, 2)}\n`);
  return { report, file, backend };
}
