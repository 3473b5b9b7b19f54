// Original file: proto/distrain/v1/coordinator.proto


export interface SubmitJobRequest {
  /**
   * TrainingJob as YAML or JSON.
   */
  'spec'?: (string);
}

export interface SubmitJobRequest__Output {
  /**
   * TrainingJob as YAML or JSON.
   */
  'spec': (string);
}
