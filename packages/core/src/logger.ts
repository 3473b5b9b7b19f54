import { pino } from 'pino';
import type { Logger } from 'pino';

export type { Logger };

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** Component name written in every line as `role`. */
  role: string;
  /** pino level. @default 'info' */
  level?: string;
  /** Extra fields on every line (job id, rank). */
  bindings?: Record<string, string | number>;
  /** Where lines go. @default stderr, so stdout stays free for a program's own output. */
  destination?: NodeJS.WritableStream;
}

/** Structured JSON logs, one object per line (pino), on stderr by default. */
export function createLogger(options: LoggerOptions): Logger {
  return pino(
    { level: options.level ?? 'info', base: { role: options.role, ...options.bindings } },
    options.destination ?? pino.destination({ fd: 2, sync: true }),
  );
}

/** A logger that drops everything (tests, library defaults). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
