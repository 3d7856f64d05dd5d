/**
 * View policies (./spec.ts ViewPolicy) the registry entries name, and the one of `folder:` datasets.
 */
import type { ViewPolicy } from './spec.js';

export const VIEWS = {
  /** Natural images and objects (CIFAR-10, Fashion-MNIST): a horizontal flip keeps the class; the strong view adds a random crop. */
  mirrorable: { weak: ['flip'], strong: ['flip', 'crop'] },
  /** Digits and text (MNIST, USPS, SVHN-like): no flip; the weak view is the image itself, the strong one a random crop (a shift by up to 1/8 of the side). */
  noFlip: { weak: [], strong: ['crop'] },
} as const satisfies Record<string, ViewPolicy>;

/** `folder:` datasets have no entry: their images are taken to be natural photos unless pseudo_label_views says otherwise. */
export const FOLDER_VIEWS: ViewPolicy = VIEWS.mirrorable;

/** The views pseudo_label uses: the dataset's own (`auto`) or the parameter's choice. */
export function viewsFor(choice: 'auto' | 'flip' | 'no_flip', dataset: ViewPolicy): ViewPolicy {
  return choice === 'auto' ? dataset : choice === 'flip' ? VIEWS.mirrorable : VIEWS.noFlip;
}
