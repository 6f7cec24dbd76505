// Package openapi holds the OpenAPI document generated from the protos and
// the HTTP rules (make generate).
package openapi

import _ "embed"

// Document is the generated OpenAPI (Swagger 2.0) document of the REST API.
//
//go:embed glusterd-ng.swagger.json
var Document []byte
