/**
 * Lets timers, signal handlers and I/O callbacks run. tfjs-node's ops resolve as microtasks, so a
 * loop of them (training batches, ridge solves) would otherwise hold the event loop for its whole length.
 */
export const yieldToEventLoop = (): Promise<void> => new Promise<void>((resolve) => setImmediate(resolve));
