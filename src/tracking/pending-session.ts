/**
 * A tracking session that is still opening (a local store's private mlflow server takes seconds to
 * start): the run trains meanwhile, and what it logs is held here in the order it was logged, each
 * metric point with the time it was logged. Once the session is open the held calls go to it, in
 * that order, before anything logged later; from then on calls pass straight through. If the session
 * never opens, `failure` holds why (the command ends with that error).
 */
import type { TrackingSession } from './session.js';

/** What the pipeline's tracking events log into (src/tracking/run-tracking.ts). */
export interface RunLog {
  queue(data: { params?: Readonly<Record<string, string>>; tags?: Readonly<Record<string, string>> }): void;
  logMetrics(values: Readonly<Record<string, number>>, step: number, timestamp?: number): void;
}

/** The part of a session the held calls need. */
export type OpenedSession = RunLog & Pick<TrackingSession, 'runId'>;

export class PendingSession<S extends OpenedSession = TrackingSession> implements RunLog {
  #session: S | undefined;
  #failure: { readonly error: unknown } | undefined;
  readonly #held: Array<(session: S) => void> = [];
  /** Settles with the open session once the held calls were passed to it, or with the error that kept it from opening. */
  readonly opened: Promise<S>;

  constructor(opening: Promise<S>, private readonly now: () => number) {
    this.opened = opening.then(
      (session) => {
        for (const call of this.#held.splice(0)) call(session);
        this.#session = session;
        return session;
      },
      (error: unknown) => {
        this.#failure = { error };
        this.#held.splice(0);
        throw error;
      },
    );
    // awaited by the command, which reports the error; not an unhandled rejection meanwhile
    this.opened.catch(() => undefined);
  }

  /** The open session, once it is. */
  get session(): S | undefined {
    return this.#session;
  }

  /** The run's id, once the session is open. */
  get runId(): string | undefined {
    return this.#session?.runId;
  }

  /** Why the session did not open, once that is known. */
  get failure(): { readonly error: unknown } | undefined {
    return this.#failure;
  }

  /** Calls held until the session opens. */
  get held(): number {
    return this.#held.length;
  }

  #call(f: (session: S) => void): void {
    if (this.#session !== undefined) f(this.#session);
    else if (this.#failure === undefined) this.#held.push(f);
  }

  queue(data: { params?: Readonly<Record<string, string>>; tags?: Readonly<Record<string, string>> }): void {
    const copy = { ...(data.params === undefined ? {} : { params: { ...data.params } }), ...(data.tags === undefined ? {} : { tags: { ...data.tags } }) };
    this.#call((session) => session.queue(copy));
  }

  /** Metric points stamped now (unless given), not when the session opens. */
  logMetrics(values: Readonly<Record<string, number>>, step: number, timestamp = this.now()): void {
    const copy = { ...values };
    this.#call((session) => session.logMetrics(copy, step, timestamp));
  }
}
