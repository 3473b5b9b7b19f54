// Original file: proto/distrain/v1/coordinator.proto


export interface ReportEvaluationResponse {
}

export interface ReportEvaluationResponse__Output {
}
