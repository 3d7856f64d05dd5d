/**
 * Building blocks for semi-supervised transfer and unsupervised domain adaptation (issue 7): gradient
 * reversal, CORAL, pseudo-labels and FixMatch, label-free model selection, offline domain shifts, the
 * DANN domain head, and a manual optimizer step to combine them; the adaptation training step
 * (step-fit.ts) and the plan of a run that names a target domain (adapt-plan.ts: data, sets, the
 * closing summary), which ../run.ts runs like any other plan.
 */
export { gradientReversal, dannLambda, GradientReversal } from './grl.js';
export { trainableVariables, minimizeStep } from './step.js';
export { covariance, coralLoss } from './coral.js';
export {
  selectConfident,
  alignDistribution,
  maskedCrossEntropy,
  fixMatchLoss,
  type PseudoLabels,
  type SelectOptions,
  type FixMatchOptions,
  type OutputKind,
} from './pseudo-label.js';
export {
  predictionEntropy,
  meanEntropy,
  datasetEntropy,
  entropySignal,
  sourceValidationLossSignal,
  chooseEpoch,
  selectEpoch,
  type SelectionSignal,
  type SelectionReport,
} from './selection.js';
export {
  invert,
  mnistm,
  blur,
  noise,
  applyShift,
  SHIFT_DEFAULTS,
  SHIFT_KINDS,
  MNISTM_DEFAULTS,
  type ShiftSpec,
  type ShiftKind,
  type MnistmOptions,
} from './shift.js';
export { buildDomainDiscriminator, dannDomainLoss, domainAccuracy, type DiscriminatorOptions } from './dann-head.js';
export { usesAdaptation, checkAdaptParams, type AdaptationMethod } from './adapt-params.js';
export { ClassMarginal } from './class-marginal.js';
export { adaptationStep, type AdaptStepSettings } from './step-fit.js';
export { planAdaptation } from './adapt-plan.js';
