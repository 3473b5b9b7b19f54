import { readFileSync } from 'node:fs';
import { MALLOC_TUNABLES } from '@distrain/core';

/**
 * Whether process `pid` was started with distrain's GLIBC_TUNABLES (role-entry.ts), or with this
 * process's own when it has one (the operator's wins). glibc parses the variable in place at
 * start-up, so /proc shows it cut after its first setting: what shows must be the expected value
 * cut after a whole setting.
 */
export function startedWithMallocSettings(pid: number): boolean {
  const expected = `GLIBC_TUNABLES=${process.env['GLIBC_TUNABLES'] ?? MALLOC_TUNABLES}`;
  const shown = readFileSync(`/proc/${pid}/environ`, 'utf8')
    .split('\0')
    .find((v) => v.startsWith('GLIBC_TUNABLES='));
  if (shown === undefined || !expected.startsWith(shown)) return false;
  return shown.length === expected.length || expected[shown.length] === ':';
}
