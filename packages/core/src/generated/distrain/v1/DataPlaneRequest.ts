// Original file: proto/distrain/v1/parameter_server.proto


export interface DataPlaneRequest {
}

export interface DataPlaneRequest__Output {
}
