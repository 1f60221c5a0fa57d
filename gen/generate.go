// Package gen holds oapi-codegen's output for openapi.yaml: models, the
// strict echo server, the embedded spec and a Go client. Never edit the
// *.gen.go files; change openapi.yaml or the configs and run `make generate`.
package gen

//go:generate go tool oapi-codegen -config server.cfg.yaml ../openapi.yaml
//go:generate go tool oapi-codegen -config client.cfg.yaml ../openapi.yaml
