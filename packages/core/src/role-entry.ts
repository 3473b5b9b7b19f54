import { fileURLToPath } from 'node:url';

/** How to start a service role's process: its entry module and the Node flags it needs. */
export interface RoleEntry {
  /** Absolute path of the role's entry module. */
  entry: string;
  /** Node flags before it: `--import tsx` for TypeScript, `--conditions=compiled` for JavaScript. */
  execArgv: string[];
  /** The same relative to the repository root, as a container command (`node ...flags entry`). */
  command: string[];
}

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** True when this module runs compiled (`packages/core/dist`), as in the images. */
export const RUNNING_COMPILED = import.meta.url.endsWith('.js');

/**
 * The entry of `services/<role>` in the same form as the running code: compiled JavaScript
 * (`dist/main.js` with `--conditions=compiled`) when this process runs compiled, else TypeScript
 * through tsx (`src/main.ts`).
 */
export function roleEntry(role: string, compiled = RUNNING_COMPILED): RoleEntry {
  const relative = compiled ? `services/${role}/dist/main.js` : `services/${role}/src/main.ts`;
  const execArgv = compiled ? ['--conditions=compiled'] : ['--import', 'tsx'];
  return { entry: `${ROOT}${relative}`, execArgv, command: ['node', ...execArgv, relative] };
}
