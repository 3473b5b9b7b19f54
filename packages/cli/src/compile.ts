/**
 * The local stack's services run as compiled JavaScript: each one otherwise spends 2-3 s of CPU at
 * start-up in tsx (its loader thread, on-the-fly transforms), several at once on a laptop, some of
 * it while the first steps train. Before `distrain run` / `distrain up` start anything,
 * {@link compileServices} makes sure `packages/<name>/dist` and `services/<name>/dist` hold the
 * JavaScript of the current sources, in the layout of `npm run build` (the images' build: each
 * `src` tree's output in the `dist` beside it, relative `.ts` imports rewritten to `.js`, the JSON
 * files copied): esbuild transpiles the whole tree in well under a second, and only when a source
 * changed (a stamp of every source's path, size and mtime). Transpiling only, as tsx does: the
 * type check stays with `npm run typecheck`. The services then run with `--conditions=compiled`.
 */
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { build } from 'esbuild';

/** What {@link compileServices} did. */
export interface CompileResult {
  /** The dist trees are current: run compiled. */
  ok: boolean;
  /** Files transpiled now (0 when the stamp matched). */
  transpiled: number;
  ms: number;
  /** Why the services cannot run compiled (`ok` false). */
  reason?: string;
}

/** Stamp format; bump it when the output of this module changes. */
const STAMP_VERSION = 1;
const GROUPS = ['packages', 'services'] as const;

interface Source {
  /** Path relative to the root, '/'-separated. */
  path: string;
  size: number;
  mtimeMs: number;
}

function listSources(root: string): Source[] {
  const out: Source[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (
        (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && !e.name.endsWith('.d.ts')) ||
        e.name.endsWith('.json')
      ) {
        const s = statSync(p);
        out.push({ path: relative(root, p).split('\\').join('/'), size: s.size, mtimeMs: s.mtimeMs });
      }
    }
  };
  for (const group of GROUPS) {
    const base = join(root, group);
    if (!existsSync(base)) continue;
    for (const name of readdirSync(base).sort()) {
      const src = join(base, name, 'src');
      if (existsSync(src)) walk(src);
    }
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** `packages/core/src/ps/x.ts` (or `.js`) -> `packages/core/dist/ps/x.js`; JSON keeps its name. */
export function distPath(sourcePath: string): string {
  const parts = sourcePath.split('/');
  parts[2] = 'dist';
  const out = parts.join('/');
  return out.endsWith('.ts') ? `${out.slice(0, -3)}.js` : out;
}

/**
 * Rewrites the relative `.ts` specifiers of static imports and exports, `import()` and
 * `import.meta.resolve` to `.js`, as tsc's `rewriteRelativeImportExtensions` does; anything else
 * (package names, strings that merely end in `.ts`) is left alone.
 */
export function rewriteImports(code: string): string {
  return code.replace(
    /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\bimport\.meta\.resolve\(\s*)(['"])(\.\.?\/[^'"\n]*?)\.ts\2/g,
    (_m, head: string, q: string, spec: string) => `${head}${q}${spec}.js${q}`,
  );
}

function digest(sources: readonly Source[]): string {
  const h = createHash('sha256');
  h.update(`v${STAMP_VERSION}\n`);
  for (const s of sources) h.update(`${s.path}\t${s.size}\t${s.mtimeMs}\n`);
  return h.digest('hex');
}

function writeAtomic(path: string, data: string | Buffer): void {
  mkdirSync(dirname(path), { recursive: true });
  // Another `distrain run` may be writing the same file: each writes whole files and renames.
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

/** esbuild's first error as `file:line:column: text`, or the error's first line. */
function firstError(err: unknown): string {
  const first = (
    err as { errors?: { text: string; location?: { file: string; line: number; column: number } | null }[] }
  ).errors?.[0];
  if (first === undefined) return String((err as Error).message ?? err).split('\n')[0] ?? '';
  const at = first.location;
  return at ? `${at.file}:${at.line}:${at.column}: ${first.text}` : first.text;
}

/**
 * Brings every `dist` tree under `root` up to date with its `src` (see the module comment). Never
 * throws: a source esbuild cannot read gives `ok: false` and the reason (tsx then reports it too).
 */
export async function compileServices(root: string): Promise<CompileResult> {
  const started = performance.now();
  const done = (ok: boolean, transpiled: number, reason?: string): CompileResult => ({
    ok,
    transpiled,
    ms: Math.round(performance.now() - started),
    ...(reason === undefined ? {} : { reason }),
  });
  try {
    const sources = listSources(root);
    if (sources.length === 0) return done(false, 0, `no sources under ${root}`);
    const stampPath = join(root, 'node_modules', '.cache', 'distrain', 'compiled.json');
    const stamp = digest(sources);
    const outputs = sources.map((s) => distPath(s.path));
    try {
      const prev = JSON.parse(readFileSync(stampPath, 'utf8')) as { digest?: string };
      if (prev.digest === stamp && outputs.every((o) => existsSync(join(root, o)))) return done(true, 0);
    } catch {
      // no stamp yet
    }
    const ts = sources.filter((s) => s.path.endsWith('.ts'));
    const result = await build({
      absWorkingDir: root,
      entryPoints: ts.map((s) => s.path),
      outbase: '.',
      outdir: root,
      write: false,
      bundle: false,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      logLevel: 'silent',
      tsconfigRaw: { compilerOptions: { verbatimModuleSyntax: true } },
    });
    // esbuild names each output after its entry (`packages/core/src/x.js`); it goes to `dist`.
    for (const file of result.outputFiles)
      writeAtomic(
        join(root, distPath(relative(root, file.path).split('\\').join('/'))),
        rewriteImports(file.text),
      );
    for (const s of sources)
      if (s.path.endsWith('.json'))
        writeAtomic(join(root, distPath(s.path)), readFileSync(join(root, s.path)));
    writeAtomic(
      stampPath,
      `${JSON.stringify({ digest: stamp, files: sources.length, at: new Date().toISOString() })}\n`,
    );
    return done(true, ts.length);
  } catch (err) {
    return done(false, 0, firstError(err));
  }
}
