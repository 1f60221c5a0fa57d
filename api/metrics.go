package api

// The HTTP metrics: what NewObserver registers, and Observer.finish and
// echoMiddleware update.

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
)

// NewObserver registers the HTTP metrics and returns the middleware.
func NewObserver(cfg ObserveConfig) (*Observer, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.ClientAddr == nil {
		cfg.ClientAddr = func(r *http.Request) string { return r.RemoteAddr }
	}
	o := &Observer{
		cfg: cfg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sachet_http_requests_total", Help: "HTTP requests answered, by operationId and status code.",
		}, []string{"operation", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sachet_http_request_duration_seconds",
			Help:    "Time from the request's headers to the end of its response, by operationId.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
		}, []string{"operation"}),
		bytesIn: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sachet_http_request_body_bytes_total", Help: "Request body bytes read, by operationId.",
		}, []string{"operation"}),
		bytesOut: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sachet_http_response_body_bytes_total", Help: "Response body bytes written, by operationId.",
		}, []string{"operation"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sachet_http_requests_in_flight", Help: "Requests being served.",
		}),
		uploads: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sachet_uploads_active", Help: "Chunk uploads being received.",
		}),
		stalled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sachet_http_transfers_stalled_total",
			Help: "Transfers cut because no bytes moved for the idle timeout, by direction (upload, download).",
		}, []string{"direction"}),
		unmatched: "unmatched",
	}
	if cfg.Registerer != nil {
		for _, c := range []prometheus.Collector{o.requests, o.duration, o.bytesIn, o.bytesOut, o.inFlight, o.uploads, o.stalled} {
			if err := cfg.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("registering metrics: %w", err)
			}
		}
	}
	return o, nil
}
