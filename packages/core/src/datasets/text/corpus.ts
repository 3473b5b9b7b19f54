/** One labelled text of a corpus, in corpus order, before the split. */
export interface TextEntry {
  text: string;
  /** Class name. */
  label: string;
}

/** Why entries were left out, with counts (a key per reason; every count is reported). */
export type DropCounts = Record<string, number>;

/** What reading a corpus gave: kept entries, and what was dropped and why. */
export interface TextCorpus {
  entries: TextEntry[];
  dropped: DropCounts;
  /** Files read (absolute paths), for the dataset report. */
  files: number;
  /** Files decoded with a legacy fallback encoding because they were not valid UTF-8. */
  legacyEncodedFiles: number;
}

/** Increments `dropped[reason]`. */
export function drop(dropped: DropCounts, reason: string, n = 1): void {
  dropped[reason] = (dropped[reason] ?? 0) + n;
}

/** ANSI colour escapes (some fortunes files colour their titles). */
const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g;

/**
 * Normalizes one entry's text: NFC, ANSI escapes removed, lines trimmed, runs of blank lines and
 * surrounding whitespace removed.
 */
export function cleanText(text: string): string {
  return text
    .normalize('NFC')
    .replace(ANSI, '')
    .split(/\r?\n/)
    .map((l) => l.trimEnd())
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/** Fraction of a text's non-whitespace code points that are letters (ASCII art scores low). */
export function letterFraction(text: string): number {
  const visible = text.match(/\S/gu)?.length ?? 0;
  const letters = text.match(/\p{L}/gu)?.length ?? 0;
  return visible === 0 ? 0 : letters / visible;
}

/** Limits of {@link filterEntries}. */
export interface EntryFilter {
  /** Entries longer than this (code units) are dropped as not a fortune (e.g. whole articles). */
  maxChars: number;
  /** Entries whose letters are a smaller fraction of their visible characters are dropped (ASCII art). */
  minLetterFraction: number;
}

/**
 * Cleans and filters entries, counting every drop by reason: `empty`, `too-long`, `not-text`
 * (mostly non-letters), `duplicate` (same text already kept for the same label) and
 * `conflicting-label` (same text kept under another label: both would teach nothing).
 */
export function filterEntries(
  raw: readonly TextEntry[],
  filter: EntryFilter,
  dropped: DropCounts,
): TextEntry[] {
  const seen = new Map<string, string>();
  const out: TextEntry[] = [];
  for (const e of raw) {
    const text = cleanText(e.text);
    if (text === '') drop(dropped, 'empty');
    else if (text.length > filter.maxChars) drop(dropped, 'too-long');
    else if (letterFraction(text) < filter.minLetterFraction) drop(dropped, 'not-text');
    else {
      const prior = seen.get(text);
      if (prior === undefined) {
        seen.set(text, e.label);
        out.push({ text, label: e.label });
      } else if (prior === e.label) drop(dropped, 'duplicate');
      else drop(dropped, 'conflicting-label');
    }
  }
  return out;
}
