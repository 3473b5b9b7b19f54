// Original file: proto/distrain/v1/parameter_server.proto


export interface ShareNormsResponse {
}

export interface ShareNormsResponse__Output {
}
