/** An advice's parameters as one line (`retrained_conv_layers=0`, `weights=none retrained_conv_layers=all`): the name pilots and reports use. */
import type { Advice } from './advice.js';

export function settingText(advice: Pick<Advice, 'params'>): string {
  return Object.entries(advice.params).map(([k, v]) => `${k}=${v}`).join(' ');
}
