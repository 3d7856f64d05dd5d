/**
 * One checkpoint file: `TKCKPT1\n`, the manifest's length (8 bytes, little-endian), the manifest
 * (JSON), then the tensors' bytes back to back. The manifest carries the bytes' sha256, so a
 * truncated or damaged file is recognised and never trusted.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';

const MAGIC = Buffer.from('TKCKPT1\n', 'latin1');

export const tensorEntrySchema = z.object({
  name: z.string(),
  shape: z.array(z.number().int().nonnegative()),
  dtype: z.enum(['float32', 'int32']),
  offset: z.number().int().nonnegative(),
  length: z.number().int().nonnegative(),
});
export type TensorEntry = z.infer<typeof tensorEntrySchema>;

export interface RawTensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: 'float32' | 'int32';
  readonly values: Float32Array | Int32Array;
}

export class CheckpointFormatError extends Error {}

/** Packs a JSON-able manifest and named tensors into one buffer. */
export function encodeCheckpoint(manifest: Readonly<Record<string, unknown>>, groups: Readonly<Record<string, readonly RawTensor[]>>): Buffer {
  const parts: Buffer[] = [];
  let offset = 0;
  const index: Record<string, TensorEntry[]> = {};
  for (const [group, tensors] of Object.entries(groups)) {
    index[group] = tensors.map((t) => {
      const bytes = Buffer.from(t.values.buffer, t.values.byteOffset, t.values.byteLength);
      parts.push(bytes);
      const entry = { name: t.name, shape: [...t.shape], dtype: t.dtype, offset, length: bytes.byteLength };
      offset += bytes.byteLength;
      return entry;
    });
  }
  const body = Buffer.concat(parts);
  const json = Buffer.from(JSON.stringify({ ...manifest, tensors: index, body_sha256: createHash('sha256').update(body).digest('hex') }), 'utf8');
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.byteLength));
  return Buffer.concat([MAGIC, length, json, body]);
}

export interface DecodedCheckpoint {
  /** The manifest as stored (validate it with its own schema). */
  readonly manifest: unknown;
  readonly tensors: Readonly<Record<string, readonly RawTensor[]>>;
}

const indexSchema = z.object({ tensors: z.record(z.string(), z.array(tensorEntrySchema)), body_sha256: z.string() });

export function decodeCheckpoint(file: Buffer): DecodedCheckpoint {
  if (file.byteLength < 16 || !file.subarray(0, 8).equals(MAGIC)) throw new CheckpointFormatError('not a transferkit checkpoint (bad magic)');
  const jsonLength = Number(file.readBigUInt64LE(8));
  if (16 + jsonLength > file.byteLength) throw new CheckpointFormatError('truncated manifest');
  let manifest: unknown;
  try {
    manifest = JSON.parse(file.subarray(16, 16 + jsonLength).toString('utf8'));
  } catch (error) {
    throw new CheckpointFormatError(`manifest is not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  const index = indexSchema.safeParse(manifest);
  if (!index.success) throw new CheckpointFormatError('manifest lacks its tensor index');
  const body = file.subarray(16 + jsonLength);
  if (createHash('sha256').update(body).digest('hex') !== index.data.body_sha256) throw new CheckpointFormatError('tensor bytes do not match their sha256 (truncated or damaged)');
  const tensors: Record<string, RawTensor[]> = {};
  for (const [group, entries] of Object.entries(index.data.tensors)) {
    tensors[group] = entries.map((e) => {
      if (e.offset + e.length > body.byteLength) throw new CheckpointFormatError(`tensor ${e.name} runs past the end`);
      const copy = new Uint8Array(body.subarray(e.offset, e.offset + e.length)).buffer;
      const values = e.dtype === 'int32' ? new Int32Array(copy) : new Float32Array(copy);
      if (values.length !== e.shape.reduce((a, b) => a * b, 1)) throw new CheckpointFormatError(`tensor ${e.name} has the wrong size`);
      return { name: e.name, shape: e.shape, dtype: e.dtype, values };
    });
  }
  return { manifest, tensors };
}
