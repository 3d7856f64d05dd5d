/**
 * The values of `adaptation`: a training method, optionally with AdaBN (domain-specific BatchNorm
 * statistics, ../adapt/ and ../train/domain-bn.ts). The table is the meaning; code reads it.
 */
export const ADAPTATIONS = ['none', 'pseudo_label', 'dann', 'coral', 'adabn', 'adabn+coral', 'adabn+dann', 'adabn+pseudo_label'] as const;
export type Adaptation = (typeof ADAPTATIONS)[number];

/** The training method of an adaptation step (its extra loss term). */
export type AdaptationMethod = 'none' | 'pseudo_label' | 'dann' | 'coral';

export const ADAPTATION_PARTS: Readonly<Record<Adaptation, { readonly method: AdaptationMethod; readonly adabn: boolean }>> = {
  none: { method: 'none', adabn: false },
  pseudo_label: { method: 'pseudo_label', adabn: false },
  dann: { method: 'dann', adabn: false },
  coral: { method: 'coral', adabn: false },
  adabn: { method: 'none', adabn: true },
  'adabn+coral': { method: 'coral', adabn: true },
  'adabn+dann': { method: 'dann', adabn: true },
  'adabn+pseudo_label': { method: 'pseudo_label', adabn: true },
};
