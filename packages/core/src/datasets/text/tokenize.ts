/**
 * Tokenizers of text datasets. All are pure functions of (text, options):
 * - `word`: Unicode-aware words, a letter or digit followed by letters, marks, digits, `'` or `-`
 *   (`\p{L}`, `\p{N}`, `\p{M}`), so "Straße", "naïve", "don't" and Cyrillic words stay whole;
 *   punctuation is dropped.
 * - `char`: one token per Unicode code point (surrogate pairs stay whole); whitespace runs become one
 *   space.
 * - `segmenter`: Node's built-in `Intl.Segmenter` with word granularity, keeping word-like segments:
 *   words for languages written with spaces, dictionary-based words for Chinese and Japanese.
 */

/** Tokenizer names. */
export const TOKENIZERS = ['word', 'char', 'segmenter'] as const;
/** A tokenizer name. */
export type TokenizerName = (typeof TOKENIZERS)[number];

/** Options of {@link tokenize}. */
export interface TokenizeOptions {
  tokenizer: TokenizerName;
  /** Lower-case (locale-independent `toLowerCase`) before splitting. */
  lowercase: boolean;
  /** `segmenter` only: BCP 47 locale hint. @default 'und' (root rules; ICU still detects Han text) */
  locale?: string;
}

const WORD = /[\p{L}\p{N}][\p{L}\p{M}\p{N}'’-]*/gu;

const segmenters = new Map<string, Intl.Segmenter>();

function segmenter(locale: string): Intl.Segmenter {
  let s = segmenters.get(locale);
  if (s === undefined) {
    s = new Intl.Segmenter(locale === 'und' ? undefined : locale, { granularity: 'word' });
    segmenters.set(locale, s);
  }
  return s;
}

/** Splits one text into tokens. */
export function tokenize(text: string, options: TokenizeOptions): string[] {
  const t = options.lowercase ? text.toLowerCase() : text;
  switch (options.tokenizer) {
    case 'word':
      return t.match(WORD) ?? [];
    case 'char': {
      const out: string[] = [];
      let space = false;
      for (const ch of t.trim()) {
        if (/\s/u.test(ch)) {
          if (!space) out.push(' ');
          space = true;
        } else {
          out.push(ch);
          space = false;
        }
      }
      return out;
    }
    case 'segmenter': {
      const out: string[] = [];
      for (const s of segmenter(options.locale ?? 'und').segment(t)) if (s.isWordLike) out.push(s.segment);
      return out;
    }
    default: {
      const bad: never = options.tokenizer;
      throw new Error(`unknown tokenizer ${String(bad)}`);
    }
  }
}
