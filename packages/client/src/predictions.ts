/** One test sample's prediction: its index in the test set, true label, predicted class, class probabilities. */
export interface PredictionRow {
  index: number;
  label: number;
  predicted: number;
  /** `p0..pk-1`, in class order. */
  probabilities: number[];
  /** Text datasets: the first characters of the test text (the CSV's last column, `text`). */
  text?: string;
}

/**
 * Parses the predictions CSV (`index,label,predicted,p0,...`, and a quoted `text` column last for a
 * text dataset) chunk by chunk into rows.
 */
export async function* parsePredictionRows(
  chunks: AsyncIterable<Buffer>,
): AsyncGenerator<PredictionRow, void, undefined> {
  let rest = '';
  let header = true;
  let hasText = false;
  const row = (line: string): PredictionRow | undefined => {
    if (line === '') return undefined;
    if (header) {
      header = false;
      if (!line.startsWith('index,label,predicted'))
        throw new Error(`predictions: unexpected CSV header ${JSON.stringify(line.slice(0, 80))}`);
      hasText = line.endsWith(',text');
      return undefined;
    }
    let numeric = line;
    let text: string | undefined;
    if (hasText) {
      // The text is the last field, quoted (RFC 4180, "" for a quote); the numbers hold no quotes.
      const q = line.indexOf(',"');
      if (q < 0 || !line.endsWith('"'))
        throw new Error(`predictions: malformed row ${JSON.stringify(line.slice(0, 80))}`);
      numeric = line.slice(0, q);
      text = line.slice(q + 2, -1).replace(/""/g, '"');
    }
    const cells = numeric.split(',').map(Number);
    if (cells.length < 3 || cells.some((c) => Number.isNaN(c)))
      throw new Error(`predictions: malformed row ${JSON.stringify(line.slice(0, 80))}`);
    const [index, label, predicted, ...probabilities] = cells as [number, number, number, ...number[]];
    return { index, label, predicted, probabilities, ...(text === undefined ? {} : { text }) };
  };
  for await (const chunk of chunks) {
    const lines = (rest + chunk.toString('utf8')).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) {
      const r = row(line.trimEnd());
      if (r) yield r;
    }
  }
  const last = row(rest.trimEnd());
  if (last) yield last;
}
