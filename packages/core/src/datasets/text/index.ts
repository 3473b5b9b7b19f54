/** Text datasets: corpora (fortunes, text files), tokenizers, vocabulary, sequences, pretrained vectors. */
export * from './corpus.ts';
export * from './fortunes.ts';
export * from './text-file.ts';
export * from './tokenize.ts';
export * from './vocabulary.ts';
export * from './text-dataset.ts';
export * from './pretrained.ts';
