package impl

import (
	"bytes"
	"context"
	"errors"
	"net/http"

	"github.com/sachet-server/sachet/domain"
	"github.com/sachet-server/sachet/gen"
)

// Checks are what readiness depends on.
type Checks struct {
	Database func(ctx context.Context) error // nil when the database answers
	Storage  func() error                    // nil when the data dir is writable
}

// Meta serves health, metrics, the contract and its reference page.
type Meta struct {
	checks   Checks
	metrics  http.Handler
	specYAML []byte
	specJSON []byte
	docsHTML []byte
	docsCSP  string
}

// NewMeta returns the meta handlers. metrics may be nil (404 then).
func NewMeta(checks Checks, metrics http.Handler, specYAML, specJSON, docsHTML []byte, docsCSP string) *Meta {
	return &Meta{checks: checks, metrics: metrics, specYAML: specYAML, specJSON: specJSON, docsHTML: docsHTML, docsCSP: docsCSP}
}

// Healthz answers while the process serves.
func (h *Meta) Healthz(context.Context, gen.HealthzRequestObject) (gen.HealthzResponseObject, error) {
	return gen.Healthz200JSONResponse{SuccessJSONResponse: success("Alive.")}, nil
}

// Readyz answers 200 only when the database and the data dir work.
func (h *Meta) Readyz(ctx context.Context, _ gen.ReadyzRequestObject) (gen.ReadyzResponseObject, error) {
	if err := h.checks.Database(ctx); err != nil {
		return gen.Readyz503JSONResponse{UnavailableJSONResponse: gen.UnavailableJSONResponse{Status: "fail", Message: "The database is unavailable."}}, nil
	}
	if err := h.checks.Storage(); err != nil {
		return gen.Readyz503JSONResponse{UnavailableJSONResponse: gen.UnavailableJSONResponse{Status: "fail", Message: "The content store (the data directory, or the S3 bucket) is not writable."}}, nil
	}
	return gen.Readyz200JSONResponse{SuccessJSONResponse: success("Ready.")}, nil
}

// Metrics serves the Prometheus exposition through the registry's handler.
func (h *Meta) Metrics(ctx context.Context, _ gen.MetricsRequestObject) (gen.MetricsResponseObject, error) {
	if h.metrics == nil {
		// Served on an address of their own (SACHET_METRICS_ADDR), not here.
		return nil, domain.Errorf(domain.NotFound, "Metrics are not served on this address.")
	}
	r, _ := ctx.Value(requestKey{}).(*http.Request)
	if r == nil {
		return nil, errors.New("impl: metrics handler or RequestInContext missing")
	}
	return handlerResponse{h: h.metrics, r: r}, nil
}

// handlerResponse lets a plain http.Handler write a strict response.
type handlerResponse struct {
	h http.Handler
	r *http.Request
}

func (s handlerResponse) VisitMetricsResponse(w http.ResponseWriter) error {
	s.h.ServeHTTP(w, s.r)
	return nil
}

// GetOpenAPIYAML serves the embedded openapi.yaml.
func (h *Meta) GetOpenAPIYAML(context.Context, gen.GetOpenAPIYAMLRequestObject) (gen.GetOpenAPIYAMLResponseObject, error) {
	return gen.GetOpenAPIYAML200ApplicationyamlResponse{Body: bytes.NewReader(h.specYAML), ContentLength: int64(len(h.specYAML))}, nil
}

// GetOpenAPIJSON serves the same document as JSON.
func (h *Meta) GetOpenAPIJSON(context.Context, gen.GetOpenAPIJSONRequestObject) (gen.GetOpenAPIJSONResponseObject, error) {
	return rawJSON(h.specJSON), nil
}

type rawJSON []byte

func (b rawJSON) VisitGetOpenAPIJSONResponse(w http.ResponseWriter) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(b)
	return err
}

// GetDocs serves the self-contained reference page.
func (h *Meta) GetDocs(context.Context, gen.GetDocsRequestObject) (gen.GetDocsResponseObject, error) {
	return gen.GetDocs200TexthtmlResponse{Body: bytes.NewReader(h.docsHTML), ContentLength: int64(len(h.docsHTML)),
		Headers: gen.GetDocs200ResponseHeaders{ContentSecurityPolicy: h.docsCSP}}, nil
}
