/** From parameters to the run's plan (./types.ts): a target domain makes it an adaptation run. */
import { planAdaptation } from '../adapt/adapt-plan.js';
import { usesAdaptation } from '../adapt/adapt-params.js';
import { planTransfer } from './transfer.js';
import type { PlanContext, RunPlan } from './types.js';

export type { FinishedBase, PhasePlan, PhaseResults, PlanContext, RunPlan } from './types.js';

export function planRun(context: PlanContext): Promise<RunPlan> {
  return usesAdaptation(context.params) ? planAdaptation(context) : planTransfer(context);
}
