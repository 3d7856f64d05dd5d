/**
 * What the pilot runs decide. Each candidate setting was trained briefly and scored on the same
 * held-out labelled images (./pilot.ts). The table's pick stands unless another candidate beats it
 * by more than PILOT_SE_MULTIPLE standard errors of the difference of two accuracies on m images,
 * √(2·p(1−p)/m) with p their mean: a few held-out images cannot overturn the table by chance alone.
 * Pure.
 */
import type { Advice } from './advice.js';
import { settingText } from './setting.js';

export const PILOT_SE_MULTIPLE = 2;

export interface PilotOutcome {
  readonly setting: string;
  readonly heldOutAccuracy: number;
  readonly heldOutImages: number;
}

export interface PilotChoice {
  readonly chosen: Advice;
  /** The best pilot's accuracy minus the table pick's, and the margin it had to exceed to switch. */
  readonly lead: number;
  readonly needed: number;
  readonly reason: string;
}

export function choosePilot(pick: Advice, settings: readonly Advice[], outcomes: readonly PilotOutcome[]): PilotChoice {
  const scoreOf = (a: Advice): PilotOutcome => {
    const found = outcomes.find((o) => o.setting === settingText(a));
    if (found === undefined) throw new Error(`no pilot outcome for ${settingText(a)}`);
    return found;
  };
  const base = scoreOf(pick);
  const best = settings.reduce((b, a) => (scoreOf(a).heldOutAccuracy > scoreOf(b).heldOutAccuracy ? a : b), pick);
  const top = scoreOf(best);
  const p = (top.heldOutAccuracy + base.heldOutAccuracy) / 2;
  const needed = PILOT_SE_MULTIPLE * Math.sqrt((2 * p * (1 - p)) / Math.max(1, base.heldOutImages));
  const lead = top.heldOutAccuracy - base.heldOutAccuracy;
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const scores = settings.map((a) => `${settingText(a)} ${pct(scoreOf(a).heldOutAccuracy)}`).join(', ');
  if (best === pick || lead <= needed) {
    const why = best === pick ? 'scored best' : `is within the pilots' noise of the best (${pct(lead)} behind; a switch needs more than ${pct(needed)})`;
    return { chosen: pick, lead, needed, reason: `pilot runs on ${base.heldOutImages} held-out labelled images (${scores}): the table's pick ${why}` };
  }
  return {
    chosen: best,
    lead,
    needed,
    reason: `pilot runs on ${base.heldOutImages} held-out labelled images (${scores}): ${settingText(best)} beat the table's pick ${settingText(pick)} by ${pct(lead)} (more than ${pct(needed)}, ${PILOT_SE_MULTIPLE} standard errors); the table said: ${pick.reason}`,
  };
}
