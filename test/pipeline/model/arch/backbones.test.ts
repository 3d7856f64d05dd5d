/**
 * The graph backbones' specs against their built graphs: blocks are valid cut points that cover
 * every layer, every BatchNorm is the freezable one with the stated epsilon, the registry's FLOPs
 * match modelFlops, and minInputSize is what the spec says. Also modelFlops itself on depthwise
 * convs and on layers reused by a second model (several inbound nodes).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import '@tensorflow/tfjs-node';
import * as tf from '@tensorflow/tfjs';
import { modelFlops } from '../../../../src/pipeline/cache/cost.js';
import { BACKBONES, type BackboneName } from '../../../../src/pipeline/model/backbones.js';
import { backboneLayers, buildBackbone } from '../../../../src/pipeline/model/build.js';
import { StepDropout } from '../../../../src/pipeline/model/dropout.js';
import { FreezableBatchNorm } from '../../../../src/pipeline/model/layers/batch-norm.js';

const GRAPH: readonly BackboneName[] = ['mobilenet_v2', 'resnet50', 'efficientnet_b0', 'efficientnet_lite0'];

/** A layer inside a residual branch of each: cutting there must be caught. */
const INSIDE: Record<string, string> = {
  mobilenet_v2: 'block_2_project_BN',
  resnet50: 'conv2_block2_2_relu',
  efficientnet_b0: 'block2b_project_bn',
  efficientnet_lite0: 'block2b_project_bn',
};

const BLOCKS: Record<string, readonly string[]> = {
  mobilenet_v2: ['stem', 'stage1', 'stage2', 'stage3', 'stage4', 'stage5', 'stage6', 'stage7', 'top'],
  resnet50: ['stem', 'conv2', 'conv3', 'conv4', 'conv5'],
  efficientnet_b0: ['stem', 'block1', 'block2', 'block3', 'block4', 'block5', 'block6', 'block7', 'top'],
  efficientnet_lite0: ['stem', 'block1', 'block2', 'block3', 'block4', 'block5', 'block6', 'block7', 'top'],
};

/** Index of the last layer that reads the output of each layer (-1: none). */
function lastReaders(model: tf.LayersModel): number[] {
  const position = new Map(model.layers.map((l, i) => [l.name, i]));
  const last = model.layers.map(() => -1);
  model.layers.forEach((layer, j) => {
    for (const t of layer.inboundNodes[0]?.inputTensors ?? []) {
      const i = position.get(t.sourceLayer.name);
      if (i !== undefined) last[i] = Math.max(last[i] ?? -1, j);
    }
  });
  return last;
}

function spatial(model: tf.LayersModel): (number | null)[] {
  return model.outputs[0]?.shape.slice(1, 3) ?? [];
}

describe('graph backbones: blocks', () => {
  for (const name of GRAPH) {
    it(`${name}: blocks are valid cut points and cover every layer`, () => {
      const spec = BACKBONES[name];
      assert.deepEqual(spec.blocks.map((b) => b.name), BLOCKS[name]);
      const model = buildBackbone(spec, spec.minInputSize, 1);
      try {
        const layers = backboneLayers(model, spec);
        assert.equal(layers.length, model.layers.length - 1, 'every layer but the input belongs to a block');
        for (const block of spec.blocks) assert.ok(layers.some((l) => l.block === block.name), `block ${block.name} is not empty`);
        assert.equal(spec.blocks.at(-1)?.end, model.outputs[0]?.sourceLayer.name, 'the last block ends at the output');
        const readers = lastReaders(model);
        // The layers before `end` whose output a layer after `end` reads (a cut there would miss them).
        const crossing = (end: string) => {
          const p = model.layers.findIndex((l) => l.name === end);
          assert.ok(p > 0, `${end} is a layer of the model`);
          return model.layers.slice(0, p).filter((_, i) => (readers[i] ?? -1) > p).map((l) => l.name);
        };
        for (const block of spec.blocks) {
          assert.deepEqual(crossing(block.end), [], `block ${block.name} ends at ${block.end}, yet later layers read earlier tensors`);
          assert.equal(model.getLayer(block.end).inboundNodes[0]?.outputTensors.length, 1);
        }
        assert.notDeepEqual(crossing(INSIDE[name] ?? ''), [], 'the check catches a cut inside a residual block');
      } finally {
        model.dispose();
      }
    });
  }
});

describe('graph backbones: layers', () => {
  for (const name of GRAPH) {
    it(`${name}: every BatchNorm is a FreezableBatchNorm with the spec's epsilon; pooled head; 224 default`, () => {
      const spec = BACKBONES[name];
      const model = buildBackbone(spec, spec.minInputSize, 1);
      try {
        const bns = model.layers.filter((l) => l.getClassName() === 'BatchNormalization');
        assert.ok(bns.length > 0);
        for (const bn of bns) {
          assert.ok(bn instanceof FreezableBatchNorm, `${bn.name} is tfjs's own BatchNormalization, which ignores trainable`);
          assert.equal(bn.epsilon, spec.bnEpsilon);
        }
        assert.equal(spec.head, 'pooled');
        assert.equal(spec.defaultInputSize, 224);
      } finally {
        model.dispose();
      }
    });
  }

  it("efficientnet_b0 and _lite0: drop-connect on every residual block, rate 0.2·b/16, one draw per example", () => {
    for (const name of ['efficientnet_b0', 'efficientnet_lite0'] as const) {
      const model = buildBackbone(BACKBONES[name], 32, 1);
      const drops = model.layers.filter((l): l is StepDropout => l instanceof StepDropout);
      assert.deepEqual(drops.map((d) => d.name), ['block2b_drop', 'block3b_drop', 'block4b_drop', 'block4c_drop', 'block5b_drop', 'block5c_drop', 'block6b_drop', 'block6c_drop', 'block6d_drop']);
      assert.deepEqual(drops.map((d) => d.rate), [2, 4, 6, 7, 9, 10, 12, 13, 14].map((b) => (0.2 * b) / 16));
      for (const d of drops) assert.deepEqual(d.noiseShape, [null, 1, 1, 1]);
      model.dispose();
    }
  });
});

describe('graph backbones: sizes and cost', () => {
  for (const name of Object.keys(BACKBONES).filter((n): n is BackboneName => n in BACKBONES)) {
    it(`${name}: registry FLOPs within 2% of modelFlops at ${BACKBONES[name].flops.inputSize}`, () => {
      const spec = BACKBONES[name];
      const model = buildBackbone(spec, spec.flops.inputSize, 1);
      const gflops = modelFlops(model) / 1e9;
      model.dispose();
      assert.ok(Math.abs(gflops - spec.flops.gflops) <= 0.02 * gflops, `measured ${gflops.toPrecision(4)} GFLOPs, registry says ${spec.flops.gflops}`);
    });
  }

  for (const name of GRAPH) {
    it(`${name}: minInputSize 32 gives a 1×1 map (total stride 32); 31 still builds, as documented`, () => {
      const spec = BACKBONES[name];
      assert.equal(spec.minInputSize, 32);
      const min = buildBackbone(spec, spec.minInputSize, 1);
      assert.deepEqual(spatial(min), [1, 1]);
      min.dispose();
      // 'same' padding and Keras's correct_pad round up, so below 32 the network still builds, to 1×1
      // too; 32 is Keras's own floor for these networks (obtain_input_shape min_size=32).
      const below = buildBackbone(spec, spec.minInputSize - 1, 1);
      assert.deepEqual(spatial(below), [1, 1]);
      below.dispose();
      const next = buildBackbone(spec, 2 * spec.minInputSize, 1);
      assert.deepEqual(spatial(next), [2, 2]);
      next.dispose();
    });
  }
});

describe('modelFlops', () => {
  it('counts depthwise convs (k·k MACs per output value) and reads shapes from the first inbound node', () => {
    const input = tf.input({ shape: [8, 8, 4] });
    const dw = tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', strides: 2, useBias: false });
    const pw = tf.layers.conv2d({ filters: 6, kernelSize: 1 });
    const mid = dw.apply(input);
    assert.ok(mid instanceof tf.SymbolicTensor);
    const out = pw.apply(mid);
    assert.ok(out instanceof tf.SymbolicTensor);
    const model = tf.model({ inputs: input, outputs: out });
    const expected = 4 * 4 * 4 * 9 * 2 + 4 * 4 * 6 * 4 * 2;
    assert.equal(modelFlops(model), expected);
    // A second model over the same layers gives each a second inbound node; `layer.input` then throws.
    const again = tf.input({ shape: [8, 8, 4] });
    const mid2 = dw.apply(again);
    assert.ok(mid2 instanceof tf.SymbolicTensor);
    const out2 = pw.apply(mid2);
    assert.ok(out2 instanceof tf.SymbolicTensor);
    const second = tf.model({ inputs: again, outputs: out2 });
    assert.throws(() => dw.input);
    assert.equal(modelFlops(second), expected);
    assert.equal(modelFlops(model), expected);
    model.dispose();
  });
});
