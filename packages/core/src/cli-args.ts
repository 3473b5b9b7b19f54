import { parseArgs } from 'node:util';
import { ValidationError } from './errors.ts';

/** Reads `--name value` flags with env fallbacks, for services' main.ts (the one place env is read). */
export function serviceFlags<const K extends string>(
  argv: string[],
  env: Record<string, string | undefined>,
  spec: Record<K, { env?: string; default?: string }>,
): Record<K, string | undefined> {
  const options: Record<string, { type: 'string' }> = {};
  for (const key of Object.keys(spec)) options[key] = { type: 'string' };
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false }));
  } catch (err) {
    throw new ValidationError('argv', (err as Error).message, { cause: err });
  }
  const out = {} as Record<K, string | undefined>;
  for (const key of Object.keys(spec) as K[]) {
    const s = spec[key];
    const v = values[key];
    out[key] = typeof v === 'string' ? v : ((s.env ? env[s.env] : undefined) ?? s.default);
  }
  return out;
}

/** Parses a port flag (0 = any free port). */
export function parsePort(value: string | undefined, field: string): number {
  const n = Number(value ?? '0');
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new ValidationError(field, `must be a port 0..65535, got ${value}`);
  return n;
}

/** Runs `stop` once on SIGTERM or SIGINT, then exits. */
export function onShutdown(stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (): void => {
    if (stopping) return;
    stopping = true;
    stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', handler);
  process.once('SIGINT', handler);
}
