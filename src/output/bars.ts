/**
 * Live progress bars on a terminal (cli-progress), with rate and ETA, and log lines printed above
 * them without breaking them. A bar lives while its step runs; when the last one ends, the bars are
 * cleared and the terminal is left with the log lines alone.
 */
import cliProgress, { type MultiBar, type Options, type Params } from 'cli-progress';
import type { Progress, ProgressTask, ProgressUnit } from '../pipeline/progress.js';

const MB = 2 ** 20;

export function amount(value: number, unit: ProgressUnit): string {
  return unit === 'bytes' ? `${(value / MB).toFixed(1)} MB` : String(Math.round(value));
}

export function rateText(perSecond: number, unit: ProgressUnit): string {
  if (!Number.isFinite(perSecond) || perSecond <= 0) return unit === 'bytes' ? '-- MB/s' : '-- img/s';
  return unit === 'bytes' ? `${(perSecond / MB).toFixed(1)} MB/s` : `${perSecond >= 100 ? Math.round(perSecond) : perSecond.toFixed(1)} img/s`;
}

/** `label [bar] 42% 1234/2940 img  812 img/s  ETA 2s` (no bar or ETA when the total is unknown). */
export function barLine(label: string, unit: ProgressUnit, options: Options, params: Params, now: number): string {
  const seconds = (now - params.startTime) / 1000;
  const rate = rateText(seconds > 0 ? params.value / seconds : Number.NaN, unit);
  if (params.total <= 0) return `${label}  ${amount(params.value, unit)}  ${rate}`;
  const shown = unit === 'bytes' ? `${amount(params.value, unit)}/${amount(params.total, unit)}` : `${amount(params.value, unit)}/${amount(params.total, unit)} img`;
  const eta = Number.isFinite(params.eta) && params.value > 0 ? Format.TimeFormat(params.eta, options, 1) : '--';
  return `${label} ${Format.BarFormat(params.progress, options)} ${Math.floor(params.progress * 100)}%  ${shown}  ${rate}  ETA ${eta}`;
}

// cli-progress is CommonJS: its classes come off the default export
const { Format } = cliProgress;

export class TerminalBars implements Progress {
  #multi: MultiBar | undefined;
  #active = 0;

  constructor(private readonly stream: NodeJS.WriteStream, private readonly now: () => number = Date.now) {}

  start(label: string, total: number, unit: ProgressUnit): ProgressTask {
    const multi = (this.#multi ??= new cliProgress.MultiBar({
      stream: this.stream,
      hideCursor: true,
      clearOnComplete: true,
      gracefulExit: false,
      fps: 5,
      etaBuffer: 40,
      barsize: 24,
      barCompleteChar: '█',
      barIncompleteChar: '░',
      autopadding: true,
      format: (options, params) => barLine(label, unit, options, params, this.now()),
    }));
    const bar = multi.create(Math.max(0, total), 0, {}, { format: (options, params) => barLine(label, unit, options, params, this.now()) });
    this.#active++;
    multi.update(); // drawn at once, not at the next tick: a short step shows too
    let ended = false;
    return {
      advance: (n) => {
        if (!ended) bar.increment(n);
      },
      end: () => {
        if (ended) return;
        ended = true;
        multi.remove(bar);
        if (--this.#active === 0) this.stop();
      },
    };
  }

  /** A finished line (ending in "\n"), printed above the bars. */
  line(text: string): void {
    if (this.#multi === undefined) {
      this.stream.write(text);
      return;
    }
    this.#multi.log(text);
    this.#multi.update();
  }

  /** Clears every bar (on exit, or when the last step ends). */
  stop(): void {
    this.#multi?.stop();
    this.#multi = undefined;
    this.#active = 0;
  }
}
