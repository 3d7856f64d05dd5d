/** JSON logs to stderr (pino). The destination is injectable so tests can read what was logged. */
import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

export function createLogger(options: { level?: string; destination?: DestinationStream } = {}): Logger {
  return pino(
    { level: options.level ?? process.env['TRANSFERKIT_LOG_LEVEL'] ?? 'info', base: { name: 'transferkit' } },
    options.destination ?? pino.destination({ fd: 2, sync: true }),
  );
}
