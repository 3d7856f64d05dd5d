/**
 * ReLU's gradient in two native ops instead of eight. tfjs computes ReLU's derivative (for `relu`
 * layers, and inside its fused conv and matMul gradients) as `dy · step(y)`, and tfjs-node's Step
 * kernel builds step from IsNan, Greater, Ones, Fill, Select and Select again: each a full pass
 * over the activation, with its own allocation. On a conv layer's output (32 × 28 × 28 × 32 floats
 * for the small CNN) those passes cost more than the convolution's own backward.
 *
 * For alpha = 0 (ReLU's case) on float32, step(x) equals sign(relu(x)): 1 where x > 0 (and +∞),
 * 0 where x ≤ 0 (and −0, −∞), NaN where x is NaN, as TensorFlow's Relu keeps NaN.
 * test/pipeline/lean-step-kernel.int.test.ts checks that against tfjs-node's own kernel on those
 * values. Any other call (alpha ≠ 0, other dtypes) runs tfjs-node's kernel unchanged.
 */
import * as tf from '@tensorflow/tfjs';

const BACKEND = 'tensorflow';

let original: tf.KernelConfig | undefined;

/** Replaces the native backend's Step kernel (once per process); a no-op when it is not registered. */
export function installLeanStep(): void {
  if (original !== undefined) return;
  const native = tf.getKernelsForBackend(BACKEND).find((k) => k.kernelName === tf.Step);
  if (native === undefined) return;
  original = native;
  tf.unregisterKernel(tf.Step, BACKEND);
  tf.registerKernel({
    ...native,
    kernelFunc: (args) => {
      const x = args.inputs['x'];
      const alpha = args.attrs?.['alpha'] ?? 0;
      if (alpha !== 0 || !(x instanceof tf.Tensor) || x.dtype !== 'float32') return native.kernelFunc(args);
      return tf.tidy(() => tf.sign(tf.relu(x)));
    },
  });
}

/** tfjs-node's own Step kernel, for tests that compare against it; undefined before installLeanStep. */
export function nativeStep(): tf.KernelConfig | undefined {
  return original;
}
