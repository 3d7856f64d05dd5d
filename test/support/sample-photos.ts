/**
 * scikit-learn's two sample photos (china.jpg, flower.jpg), centre square crop resized to 224 with
 * PIL's bilinear filter, raw RGB written as float32 [2, 224, 224, 3] by the venv's Python.
 */
import { readFile } from 'node:fs/promises';
import { runKerasPython } from './python.js';

const PHOTOS = String.raw`
import json, sys
import numpy as np
from PIL import Image
from sklearn.datasets import load_sample_images
job = json.loads(sys.argv[1])
out = []
for img in load_sample_images().images:
    h, w, _ = img.shape
    s = min(h, w)
    crop = img[(h - s) // 2:(h - s) // 2 + s, (w - s) // 2:(w - s) // 2 + s]
    out.append(np.asarray(Image.fromarray(crop).resize((224, 224), Image.BILINEAR), dtype="<f4"))
np.stack(out).tofile(job["out"])
`;

/** Writes the two photos to `path` and returns their pixels. */
export async function samplePhotos(path: string): Promise<Float32Array> {
  await runKerasPython(PHOTOS, { out: path });
  const buf = await readFile(path);
  return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
}
