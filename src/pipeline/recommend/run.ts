/**
 * `recommend`, stage by stage: check the parameters → weights → both domains → a random sample of
 * each through the frozen backbone → similarity (proxy A-distance, MMD) → the strategy table →
 * recommendation.json. Nothing is trained but the small domain classifier; knows nothing of MLflow.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DataError, ParamError } from '../../errors.js';
import { writeFileAtomic } from '../../fs-atomic.js';
import type { PipelineDeps } from '../deps.js';
import { initBackend, type BackendInfo } from '../backend.js';
import { getBackbone, type BackboneSpec } from '../model/backbones.js';
import { resolveWeights } from '../model/weights.js';
import { advise } from './advice.js';
import { drawSample, loadDomains } from './domains.js';
import { featureExtractor } from './features.js';
import { mmdRbf } from './mmd.js';
import { proxyADistance } from './pad.js';
import type { RecommendParams } from './params.js';
import { buildReport, type RecommendReport } from './report.js';
import { checkSourceParams, planSource } from './source.js';

export type RecommendDeps = PipelineDeps;

export interface RecommendResult {
  readonly report: RecommendReport;
  /** recommendation.json, in the output folder. */
  readonly file: string;
  readonly backend: BackendInfo;
}

export const REPORT_FILE = 'recommendation.json';

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

export async function runRecommend(params: RecommendParams, deps: RecommendDeps): Promise<RecommendResult> {
  const t0 = deps.now();
  const { logger } = deps;
  const spec = getBackbone(params.backbone);
  checkSourceParams(params, spec);
  const inputSize = inputSizeFor(params, spec);
  const backend = await initBackend(params.backend);
  const weights = await resolveWeights(params.weights, spec, deps);
  const sourcePlan = planSource(params, weights);
  const domains = await loadDomains(params, sourcePlan, deps);
  const { source, target } = domains;
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
    const advice = advise({ labelsPerClass: domains.labelsPerClass, pad: pad.pad, blocks: spec.blocks });
    const report = buildReport({
      params,
      advice,
      target,
      source: { ...source, from: sourcePlan.from },
      labelsPerClass: domains.labelsPerClass,
      labelsByClass: domains.labelsByClass,
      pad,
      mmd,
      samples: { source: n, target: n },
      features: { layer: extractor.layer, dim: extractor.dim },
      weights: { kind: weights.kind, fingerprint: extractor.weightsFingerprint },
      inputSize,
      seconds: (deps.now() - t0) / 1000,
    });
    const file = join(deps.outputDir, REPORT_FILE);
    await mkdir(deps.outputDir, { recursive: true });
    await writeFileAtomic(file, `${JSON.stringify(report, null, 2)}\n`);
    return { report, file, backend };
  } finally {
    extractor.dispose();
  }
}
