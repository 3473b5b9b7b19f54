import { startServiceProcess } from '@distrain/core';
import type { ServiceProcess } from '@distrain/core';
import { ROOT } from './cli.ts';

/** One service process started by a test. */
export type { ServiceProcess } from '@distrain/core';

/** Starts `services/<role>/src/main.ts ARGS` and waits for its `{"event":"listening"}` line. */
export function startService(
  role: string,
  args: string[],
  env: Record<string, string> = {},
  execArgv?: string[],
): Promise<ServiceProcess> {
  return startServiceProcess({
    name: role,
    entry: `${ROOT}services/${role}/src/main.ts`,
    args,
    cwd: ROOT,
    env: { DISTRAIN_LOG_LEVEL: 'warn', ...env },
    ...(execArgv ? { execArgv } : {}),
  });
}
