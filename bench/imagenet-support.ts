/**
 * Helpers for bench/imagenet-features.ts: the training protocol a label budget allows, the
 * statistics (mean ± sample sd over seeds), the input-size rule and the Markdown tables.
 */
import { z } from 'zod';

/** One measured run as bench/results/<name>.json stores it (read back by --resume). */
export const runSchema = z.object({
  config: z.string(),
  size: z.number(),
  budget: z.number(),
  seed: z.number(),
  /** HEAD when the run started, `+uncommitted` when the tree (bench/results aside) had changes. */
  commit: z.string(),
  accuracy: z.number(),
  best_epoch: z.number(),
  epochs_run: z.number(),
  /** The run's transferkit.activation_cache tag (hit, miss, ...), or none. */
  activation_cache: z.string(),
  wall_seconds: z.number(),
  peak_rss_mb: z.number(),
  cpu_seconds: z.number(),
  /** Share of the machine's CPU used by other processes while the run ran (runMeasured). */
  contention: z.number(),
  /** The ridge probe's tags (transferkit.ridge_*): λ, λ / (trace(ZᵀZ)/d), temperature, and what chose λ; absent for Adam heads and runs recorded before they were kept. */
  ridge: z.object({ lambda: z.number(), lambda_relative: z.number(), temperature: z.number(), selected_on: z.string() }).optional(),
});
export type Run = z.infer<typeof runSchema>;

export interface Protocol {
  readonly validationFraction: number;
  readonly earlyStop: boolean;
  readonly args: readonly string[];
  readonly text: string;
}

/**
 * One protocol per budget, the same for every config. src/pipeline/data/sample.ts holds out
 * max(1, round(k × fraction)) images per class, and check.ts refuses early stopping without a
 * validation set; so when k × fraction < 1 (k = 1 at 0.2) every label trains, with no validation,
 * no early stopping and a fixed `epochs`, and the last epoch's weights are tested.
 */
export function protocolFor(budget: number, fraction: number, epochs: number, patience: number): Protocol {
  if (budget * fraction < 1) {
    return {
      validationFraction: 0,
      earlyStop: false,
      args: ['--validation_fraction', '0', '--use_early_stop', '0', '--max_epochs', String(epochs)],
      text: `all ${budget} label(s) per class train; no validation, no early stopping, a fixed ${epochs} epochs, last epoch tested`,
    };
  }
  const held = Math.max(1, Math.round(budget * fraction));
  return {
    validationFraction: fraction,
    earlyStop: true,
    args: ['--validation_fraction', String(fraction), '--use_early_stop', '1', '--max_epochs', String(epochs), '--patience', String(patience)],
    text: `${budget - held} train + ${held} validation per class; up to ${epochs} epochs, early stopping on validation loss (patience ${patience}), best epoch tested`,
  };
}

export const mean = (xs: readonly number[]): number => (xs.length === 0 ? Number.NaN : xs.reduce((a, b) => a + b, 0) / xs.length);
/** Sample sd; NaN for fewer than 2 runs (no spread is known, so no comparison is made with it). */
export const sd = (xs: readonly number[]): number =>
  xs.length < 2 ? Number.NaN : Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1));
const pick = (runs: readonly Run[], config: string, size: number, budget: number) =>
  runs.filter((r) => r.config === config && r.size === size && r.budget === budget);
const pct = (xs: readonly number[]) =>
  xs.length === 0 ? 'not run' : xs.length === 1 ? `${(mean(xs) * 100).toFixed(1)}% (1 run, no spread)` : `${(mean(xs) * 100).toFixed(1)} ± ${(sd(xs) * 100).toFixed(1)}%`;
const secs = (xs: readonly number[]) => (xs.length === 0 ? 'not run' : `${mean(xs).toFixed(0)} s (${xs.map((x) => x.toFixed(0)).join(' / ')})`);

export interface Cell {
  readonly config: string;
  readonly size: number;
  readonly budget: number;
  readonly n: number;
  readonly accuracy_mean: number;
  readonly accuracy_sd: number;
  readonly wall_seconds_mean: number;
  readonly peak_rss_mb_max: number;
}

export function cells(runs: readonly Run[], configs: readonly string[], sizes: readonly number[], budgets: readonly number[]): Cell[] {
  return sizes.flatMap((size) =>
    budgets.flatMap((budget) =>
      configs.map((config) => {
        const rs = pick(runs, config, size, budget);
        const acc = rs.map((r) => r.accuracy);
        return {
          config, size, budget, n: rs.length,
          accuracy_mean: mean(acc), accuracy_sd: sd(acc),
          wall_seconds_mean: mean(rs.map((r) => r.wall_seconds)),
          peak_rss_mb_max: rs.length === 0 ? Number.NaN : Math.max(...rs.map((r) => r.peak_rss_mb)),
        };
      }),
    ),
  );
}

/**
 * The input-size rule (accuracy against time): the smallest size whose mean accuracy is within the
 * spread of the most accurate size's, spread = the larger sample sd of the two. Ties on accuracy
 * go to the cheaper input because time grows with the square of the side.
 */
export function chooseSize(runs: readonly Run[], config: string, sizes: readonly number[], budget: number): { size: number; rule: string } | undefined {
  const measured = sizes.map((size) => ({ size, acc: pick(runs, config, size, budget).map((r) => r.accuracy) })).filter((s) => s.acc.length > 0);
  const best = measured.reduce<(typeof measured)[number] | undefined>((b, s) => (b === undefined || mean(s.acc) > mean(b.acc) ? s : b), undefined);
  if (best === undefined) return undefined;
  // a size with a single run has no spread (NaN): the comparison is false, so it is not chosen over the best
  const ok = measured.filter((s) => mean(s.acc) >= mean(best.acc) - Math.max(sd(s.acc), sd(best.acc))).sort((a, b) => a.size - b.size)[0] ?? best;
  return {
    size: ok.size,
    rule: `the smallest input side whose mean test accuracy is within the spread (the larger sample sd of the two) of the most accurate side's (${best.size} px, ${pct(best.acc)}); ${ok.size} px has ${pct(ok.acc)}`,
  };
}

/** Markdown: accuracy per (size, budget) × config, the wall time, peak RSS, and who beats the baseline. */
export function tables(runs: readonly Run[], configs: readonly string[], sizes: readonly number[], budgets: readonly number[], labels: Readonly<Record<string, string>>, baseline: string): string[] {
  const rows = sizes.flatMap((size) => budgets.map((budget) => ({ size, budget })));
  const head = (what: string) => [`| px | labels/class | ${configs.map((c) => `${labels[c] ?? c}${what}`).join(' | ')} |`, `|---|---|${configs.map(() => '---|').join('')}`];
  const line = (size: number, budget: number, cell: (c: string) => string) => `| ${size} | ${budget} | ${configs.map(cell).join(' | ')} |`;
  const beats = rows.map(({ size, budget }) => {
    const base = pick(runs, baseline, size, budget).map((r) => r.accuracy);
    const winners = configs.filter((c) => c !== baseline).flatMap((c) => {
      const acc = pick(runs, c, size, budget).map((r) => r.accuracy);
      if (acc.length < 2 || base.length < 2) return []; // no spread to beat
      const margin = mean(acc) - mean(base);
      return margin > Math.max(sd(acc), sd(base)) ? [`${labels[c] ?? c} (+${(margin * 100).toFixed(1)} points)`] : [];
    });
    return `| ${size} | ${budget} | ${base.length === 0 ? 'baseline not run' : base.length < 2 ? 'baseline has 1 run: no spread' : winners.length === 0 ? 'none' : winners.join('; ')} |`;
  });
  return [
    '**Test accuracy** (mean ± sample sd over seeds)',
    '',
    ...head(''),
    ...rows.map(({ size, budget }) => line(size, budget, (c) => pct(pick(runs, c, size, budget).map((r) => r.accuracy)))),
    '',
    '**Wall time per run** (mean, then each seed in run order; process start to exit: data, weights, activations, training, testing on 10,000 images)',
    '',
    ...head(''),
    ...rows.map(({ size, budget }) => line(size, budget, (c) => secs(pick(runs, c, size, budget).map((r) => r.wall_seconds)))),
    '',
    '**Peak RSS** (largest over seeds, MB)',
    '',
    ...head(''),
    ...rows.map(({ size, budget }) => line(size, budget, (c) => {
      const rs = pick(runs, c, size, budget);
      return rs.length === 0 ? 'not run' : Math.max(...rs.map((r) => r.peak_rss_mb)).toFixed(0);
    })),
    ...(configs.includes(baseline)
      ? ['', `**Beats ${labels[baseline] ?? baseline} by more than the spread** (mean margin > the larger sample sd of the two)`, '', '| px | labels/class | configs |', '|---|---|---|', ...beats]
      : []),
  ];
}
