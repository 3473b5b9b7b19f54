import { generateToken, setDefaultClientSecurity, startServiceProcess } from '@distrain/core';
import type { ServiceProcess } from '@distrain/core';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONFIG_DIR, ROOT } from './cli.ts';

/**
 * The deployment token of the services a test file starts (one per test process). The test process
 * acts as one more service: its core gRPC clients send it by default, as a service's do, and the
 * `distrain` commands it runs find it in the config directory of `cli.ts`.
 */
export const TEST_TOKEN = generateToken();
setDefaultClientSecurity({ token: TEST_TOKEN });
// The `distrain` commands a test runs read it where `distrain up` would have written it.
writeFileSync(join(CONFIG_DIR, 'token'), `${TEST_TOKEN}\n`, { mode: 0o600 });

/** One service process started by a test. */
export type { ServiceProcess } from '@distrain/core';

/**
 * Starts `services/<role>/src/main.ts ARGS` with {@link TEST_TOKEN} as its deployment token and
 * waits for its `{"event":"listening"}` line.
 */
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
    env: { DISTRAIN_LOG_LEVEL: 'warn', DISTRAIN_AUTH_TOKEN: TEST_TOKEN, ...env },
    ...(execArgv ? { execArgv } : {}),
  });
}
