// Original file: proto/distrain/v1/parameter_server.proto


export interface ExchangeStatsResponse {
  /**
   * The contributing ranks, ascending.
   */
  'ranks'?: (number)[];
  /**
   * Their vectors (all the same length), concatenated in the order of `ranks`.
   */
  'values'?: (number | string)[];
}

export interface ExchangeStatsResponse__Output {
  /**
   * The contributing ranks, ascending.
   */
  'ranks': (number)[];
  /**
   * Their vectors (all the same length), concatenated in the order of `ranks`.
   */
  'values': (number)[];
}
