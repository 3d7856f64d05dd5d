/**
 * Feature matrices for the similarity measures: `rows` examples × `cols` features, row-major in a
 * Float64Array, plus the two operations both measures share (row slices and z-scoring). Plain
 * JavaScript, no TensorFlow: the measures stay deterministic and testable without a backend.
 */
export interface Matrix {
  readonly rows: number;
  readonly cols: number;
  readonly data: Float64Array;
}

export function matrix(rows: number, cols: number, data: ArrayLike<number> = new Float64Array(rows * cols)): Matrix {
  if (data.length !== rows * cols) throw new RangeError(`matrix ${rows}×${cols} needs ${rows * cols} values, got ${data.length}`);
  return { rows, cols, data: Float64Array.from(data) };
}

/** A matrix from an array of equally long rows. */
export function fromRows(rows: readonly (readonly number[])[]): Matrix {
  const cols = rows[0]?.length ?? 0;
  const data = new Float64Array(rows.length * cols);
  rows.forEach((r, i) => {
    if (r.length !== cols) throw new RangeError(`row ${i} has ${r.length} values, expected ${cols}`);
    data.set(r, i * cols);
  });
  return { rows: rows.length, cols, data };
}

/** Rows [start, end) as a new matrix (a copy). */
export function sliceRows(m: Matrix, start: number, end: number): Matrix {
  return { rows: end - start, cols: m.cols, data: m.data.slice(start * m.cols, end * m.cols) };
}

export interface Scaling {
  readonly mean: Float64Array;
  readonly scale: Float64Array;
}

/** Per-column mean and standard deviation over the rows of `fit` (a constant column scales by 1). */
export function fitScaling(...fit: readonly Matrix[]): Scaling {
  const cols = fit[0]?.cols ?? 0;
  const mean = new Float64Array(cols);
  const sq = new Float64Array(cols);
  let n = 0;
  for (const m of fit) {
    if (m.cols !== cols) throw new RangeError(`matrices have ${cols} and ${m.cols} columns`);
    for (let i = 0; i < m.rows; i++) {
      for (let j = 0; j < cols; j++) mean[j] = (mean[j] ?? 0) + (m.data[i * cols + j] ?? 0);
    }
    n += m.rows;
  }
  for (let j = 0; j < cols; j++) mean[j] = (mean[j] ?? 0) / Math.max(n, 1);
  for (const m of fit) {
    for (let i = 0; i < m.rows; i++) {
      for (let j = 0; j < cols; j++) {
        const d = (m.data[i * cols + j] ?? 0) - (mean[j] ?? 0);
        sq[j] = (sq[j] ?? 0) + d * d;
      }
    }
  }
  const scale = sq.map((s) => {
    const sd = Math.sqrt(s / Math.max(n, 1));
    return sd > 1e-12 ? sd : 1;
  });
  return { mean, scale };
}

/** (x − mean) / scale, column by column, as a new matrix. */
export function applyScaling(m: Matrix, s: Scaling): Matrix {
  const data = new Float64Array(m.data.length);
  for (let i = 0; i < m.rows; i++) {
    for (let j = 0; j < m.cols; j++) {
      const k = i * m.cols + j;
      data[k] = ((m.data[k] ?? 0) - (s.mean[j] ?? 0)) / (s.scale[j] ?? 1);
    }
  }
  return { rows: m.rows, cols: m.cols, data };
}
