package app

import (
	"context"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// servePprof serves Go's profiles on their own listener, never on the API's
// (it is opt-in: SACHET_PPROF_ADDR), until ctx ends.
func (a *App) servePprof(ctx context.Context) {
	ln, err := net.Listen("tcp", a.cfg.PprofAddr)
	if err != nil {
		a.log.Warn("pprof listener", "addr", a.cfg.PprofAddr, "err", err)
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	a.log.Info("pprof serving", "addr", "http://"+ln.Addr().String()+"/debug/pprof/")
	_ = srv.Serve(ln)
}

// serveMetrics serves /metrics alone on ln (SACHET_METRICS_ADDR), so that
// the metrics can sit on an internal address while the API faces clients,
// until ctx ends.
func (a *App) serveMetrics(ctx context.Context, ln net.Listener) {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", a.metrics)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	a.log.Info("metrics serving", "addr", "http://"+ln.Addr().String()+"/metrics")
	_ = srv.Serve(ln)
}
