// Package impl implements the generated strict server interface: one method
// per operationId, grouped by the spec's tags into small handler structs
// that each hold only the collaborators they use. Handlers unpack the
// request, apply the rule from shared/API.md, and return domain errors;
// the api package maps those to HTTP.
package impl
