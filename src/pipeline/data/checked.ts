/**
 * Reading an example index or a label where a wrong one can only be a bug: out of range, missing or
 * not an integer is an InternalError naming what was read, never a substituted 0 (which would train
 * on example 0 or class 0 and pass silently).
 */
import { InternalError } from '../../errors.js';

/** Checks that `index` picks one of `count` examples; `what` names the set in the message. */
export function checkIndex(index: number | undefined, count: number, what: string): number {
  if (index === undefined || !Number.isInteger(index) || index < 0 || index >= count) {
    throw new InternalError(`${what}: example index ${String(index)} is outside 0..${count - 1}`);
  }
  return index;
}

/** The class of example `index`, checked to be in 0..numClasses-1 (undefined: no upper bound, 0 or more). */
export function labelAt(labels: ArrayLike<number>, index: number, numClasses: number | undefined, what: string): number {
  const label = index >= 0 && index < labels.length ? labels[index] : undefined;
  if (label === undefined || !Number.isInteger(label) || label < 0 || (numClasses !== undefined && label >= numClasses)) {
    const expected = numClasses === undefined ? 'a class index of 0 or more' : `a class in 0..${numClasses - 1}`;
    throw new InternalError(`${what}: example ${index} has label ${String(label)}, expected ${expected} (${labels.length} labels)`);
  }
  return label;
}
