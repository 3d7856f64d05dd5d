/**
 * The default number of concurrent children: one per core, as far as memory allows. Measured on a
 * 2-core machine, one child keeps only 1.0-1.3 cores busy (process start, data loading and the JS
 * side are single-threaded; TensorFlow's intra-op pool helps only on the larger ops), so two
 * children finished a 4-point sweep 15-27% sooner than one at a time (README, "Sweeps").
 */
import { availableParallelism, totalmem } from 'node:os';

/** Memory one child may need: tfjs-node, the backbone, a batch of activations (VGG16 at 64 px peaked at 2 GB). */
export const BYTES_PER_CHILD = 3 * 1024 ** 3;

export function defaultConcurrency(machine: { cpus: number; memoryBytes: number } = { cpus: availableParallelism(), memoryBytes: totalmem() }): number {
  const byMemory = Math.floor(machine.memoryBytes / BYTES_PER_CHILD);
  return Math.max(1, Math.min(machine.cpus, byMemory, 64));
}
