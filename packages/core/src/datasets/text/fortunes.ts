import { readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DatasetFileError, NotFoundError } from '../../errors.ts';
import { checkDatasetFile } from '../file-io.ts';
import { filterEntries } from './corpus.ts';
import type { TextCorpus, TextEntry } from './corpus.ts';

/** Folder of the Debian `fortunes*` packages. */
export const FORTUNES_DIR = '/usr/share/games/fortunes';

/** Debian packages the built-in fortunes datasets read (`.ci/run` installs them). */
export const FORTUNES_PACKAGES = [
  'fortunes',
  'fortunes-min',
  'fortunes-br',
  'fortunes-cs',
  'fortunes-de',
  'fortunes-es',
  'fortunes-it',
  'fortunes-pl',
  'fortunes-ru',
  'fortunes-zh',
] as const;

/** English files of the packages `fortunes` and `fortunes-min` (the root folder also holds Italian links). */
const ENGLISH_FILES = [
  'art', 'computers', 'cookie', 'debian', 'definitions', 'disclaimer', 'drugs', 'education',
  'ethnic', 'food', 'fortunes', 'goedel', 'humorists', 'kids', 'knghtbrd', 'law', 'linux',
  'linuxcookie', 'literature', 'love', 'magic', 'medicine', 'men-women', 'miscellaneous', 'news',
  'paradoxum', 'people', 'perl', 'pets', 'platitudes', 'politics', 'pratchett', 'riddles', 'science',
  'songs-poems', 'sports', 'startrek', 'tao', 'wisdom', 'work', 'zippy',
]; // prettier-ignore

/**
 * Classes of `fortunes-language`: ISO 639-1 code → where its files are. A folder means every file in
 * it (recursively, except the `off` folders of offensive fortunes the packages keep apart).
 */
export const FORTUNES_LANGUAGES: Readonly<Record<string, { dirs?: string[]; files?: string[] }>> = {
  cs: { dirs: ['cs'] },
  de: { dirs: ['de'] },
  en: { files: ENGLISH_FILES },
  es: { dirs: ['es'] },
  it: { dirs: ['it'] },
  pl: { dirs: ['pl'] },
  pt: { files: ['brasil'] },
  ru: { dirs: ['ru'] },
  zh: { files: ['chinese', 'tang300', 'song100'] },
};

/** Classes of `fortunes-topic`: English topic files of the `fortunes` package. */
export const FORTUNES_TOPICS = [
  'computers',
  'food',
  'law',
  'love',
  'medicine',
  'politics',
  'science',
  'sports',
] as const;

/** Legacy encoding tried when a file of this language is not valid UTF-8. */
const LEGACY_ENCODING: Record<string, string> = {
  ru: 'koi8-r',
  cs: 'iso-8859-2',
  pl: 'iso-8859-2',
  zh: 'gb18030',
};

/** Entry filter of the fortunes corpora: fortunes are short; ASCII art is mostly non-letters. */
export const FORTUNES_FILTER = { maxChars: 2000, minLetterFraction: 0.5 } as const;

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (name.endsWith('.dat') || name.endsWith('.u8') || name === 'off') continue;
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) out.push(...listFiles(p));
    else if (st.isFile()) out.push(p);
  }
  return out;
}

/** Splits a fortune file into entries: entries are separated by lines holding only `%`. */
export function splitFortunes(text: string): string[] {
  return text.split(/^%[ \t]*\r?$/m).map((s) => s.replace(/^\r?\n/, ''));
}

function decode(bytes: Uint8Array, language: string): { text: string; legacy: boolean } {
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(bytes), legacy: false };
  } catch {
    return { text: new TextDecoder(LEGACY_ENCODING[language] ?? 'windows-1252').decode(bytes), legacy: true };
  }
}

function readFiles(
  root: string,
  classes: ReadonlyArray<[string, string[]]>,
): { raw: TextEntry[]; files: number; legacy: number } {
  const raw: TextEntry[] = [];
  const seenFiles = new Set<string>();
  let legacy = 0;
  for (const [label, files] of classes) {
    for (const file of files) {
      const real = checkDatasetFile(realpathSync(file));
      if (seenFiles.has(real)) continue;
      seenFiles.add(real);
      const d = decode(readFileSync(real), label);
      if (d.legacy) legacy++;
      for (const text of splitFortunes(d.text)) raw.push({ text, label });
    }
  }
  return { raw, files: seenFiles.size, legacy };
}

function missing(root: string, what: string): never {
  throw new NotFoundError(
    `${what} is missing under ${root}; install the Debian packages: apt-get install ${FORTUNES_PACKAGES.join(' ')}`,
    { field: 'dataset.path' },
  );
}

/**
 * Reads the `fortunes-language` corpus: every entry of the packages' files labelled with its
 * language (class order: sorted codes), cleaned and filtered by {@link filterEntries}.
 */
export function readFortunesLanguage(root = FORTUNES_DIR): TextCorpus {
  const classes: Array<[string, string[]]> = [];
  for (const [label, where] of Object.entries(FORTUNES_LANGUAGES).sort(([a], [b]) => (a < b ? -1 : 1))) {
    const files: string[] = [];
    for (const d of where.dirs ?? []) {
      const dir = join(root, d);
      try {
        files.push(...listFiles(dir));
      } catch {
        missing(root, `the folder ${d}/ (language ${label})`);
      }
    }
    for (const f of where.files ?? []) {
      const p = join(root, f);
      try {
        statSync(p);
      } catch {
        missing(root, `the file ${f} (language ${label})`);
      }
      files.push(p);
    }
    if (files.length === 0) missing(root, `every file of language ${label}`);
    classes.push([label, files]);
  }
  return corpus(root, classes);
}

/** Reads the `fortunes-topic` corpus: English entries labelled with their topic file. */
export function readFortunesTopic(root = FORTUNES_DIR): TextCorpus {
  const classes: Array<[string, string[]]> = FORTUNES_TOPICS.map((t) => {
    const p = join(root, t);
    try {
      statSync(p);
    } catch {
      missing(root, `the file ${t}`);
    }
    return [t, [p]];
  });
  return corpus(root, classes);
}

function corpus(root: string, classes: ReadonlyArray<[string, string[]]>): TextCorpus {
  let read;
  try {
    read = readFiles(root, classes);
  } catch (err) {
    throw new DatasetFileError(`cannot read the fortunes files under ${root}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const dropped = {};
  const entries = filterEntries(read.raw, FORTUNES_FILTER, dropped);
  return { entries, dropped, files: read.files, legacyEncodedFiles: read.legacy };
}
