import { fileURLToPath } from 'node:url';
import { FASHION_MNIST_DIR } from '@distrain/core/datasets';

/** Debian's fortunes folder (the fortunes-* datasets). */
const FORTUNES = '/usr/share/games/fortunes';

/**
 * The data roots of a loader: the built-in dataset folders (Fashion-MNIST, fortunes) always, then
 * the `--data-root` folders or, without any, the current folder (where `distrain run`/`up` was
 * started) and the repository's examples folder.
 */
export function dataRoots(given: readonly string[]): string[] {
  const rest =
    given.length > 0 ? given : [process.cwd(), fileURLToPath(new URL('../../../examples', import.meta.url))];
  return [FASHION_MNIST_DIR, FORTUNES, ...rest];
}
