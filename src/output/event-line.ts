/**
 * One readable line per log event: the message, then its fields as `key=value` (numbers rounded,
 * long values cut). An epoch event reads as the epoch's progress line. Used as pino-pretty's
 * messageFormat, so time and level come from pino-pretty.
 */
import { z } from 'zod';
import { progressLine } from '../entry/progress.js';

/** Pino's own fields and the ones the message already says. */
const HIDDEN = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg', 'failure']);
const MAX_VALUE = 160;

const epochEvent = z.object({
  msg: z.literal('epoch'),
  epoch: z.number(),
  stage: z.number(),
  loss: z.number().nullable(),
  accuracy: z.number().nullable(),
  val_loss: z.number().nullable(),
  val_accuracy: z.number().nullable(),
  epoch_seconds: z.number(),
  phase: z.enum(['source', 'target', 'scratch']),
  max_epochs: z.number(),
});

const num = (x: number | null) => x ?? Number.NaN;

export function formatValue(value: unknown): string {
  let text: string;
  if (typeof value === 'number') text = Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(4)));
  else if (typeof value === 'string') text = /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  else text = JSON.stringify(value) ?? String(value);
  return text.length > MAX_VALUE ? `${text.slice(0, MAX_VALUE - 1)}…` : text;
}

/** The text after the time and level: the message and the event's fields. */
export function eventText(log: Readonly<Record<string, unknown>>): string {
  const epoch = epochEvent.safeParse(log);
  if (epoch.success) {
    const e = epoch.data;
    const metrics = { ...e, loss: num(e.loss), accuracy: num(e.accuracy), val_loss: num(e.val_loss), val_accuracy: num(e.val_accuracy), time: 0 };
    return progressLine(metrics, { phase: e.phase, maxEpochs: e.max_epochs });
  }
  const message = typeof log['msg'] === 'string' ? log['msg'] : '';
  const fields = Object.entries(log)
    .filter(([key, value]) => !HIDDEN.has(key) && value !== undefined)
    .map(([key, value]) => (key === 'err' ? `error=${formatValue(errorMessage(value))}` : `${key}=${formatValue(value)}`));
  return [message, ...fields].filter((part) => part !== '').join('  ');
}

const serializedError = z.object({ message: z.string() });

function errorMessage(value: unknown): unknown {
  const parsed = serializedError.safeParse(value);
  return parsed.success ? parsed.data.message : value;
}
