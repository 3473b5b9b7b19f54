/** One test sample's prediction: its index in the test set, true label, predicted class, class probabilities. */
export interface PredictionRow {
  index: number;
  label: number;
  predicted: number;
  /** `p0..pk-1`, in class order. */
  probabilities: number[];
}

/** Parses the predictions CSV (`index,label,predicted,p0,...`) chunk by chunk into rows. */
export async function* parsePredictionRows(
  chunks: AsyncIterable<Buffer>,
): AsyncGenerator<PredictionRow, void, undefined> {
  let rest = '';
  let header = true;
  const row = (line: string): PredictionRow | undefined => {
    if (line === '') return undefined;
    if (header) {
      header = false;
      if (!line.startsWith('index,label,predicted'))
        throw new Error(`predictions: unexpected CSV header ${JSON.stringify(line.slice(0, 80))}`);
      return undefined;
    }
    const cells = line.split(',').map(Number);
    if (cells.length < 3 || cells.some((c) => Number.isNaN(c)))
      throw new Error(`predictions: malformed row ${JSON.stringify(line.slice(0, 80))}`);
    const [index, label, predicted, ...probabilities] = cells as [number, number, number, ...number[]];
    return { index, label, predicted, probabilities };
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
