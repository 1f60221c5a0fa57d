package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
)

// Scenario link (issue 12, item 6): a share link is as fast as the routes
// it stands beside. Download of the big share through an unlimited link
// against nginx serving the same file (≥ 0.9×, like the content route),
// and the link's metadata (GET /links/{token}, no account) against the
// share's (GET /files/{id}, with a token), measured interleaved in the
// same runs so that the machine's load hits both alike.
func (s *session) scenarioLink(ctx context.Context) error {
	cfg := s.b.cfg
	if err := s.ensureBig(ctx); err != nil {
		return err
	}
	var made struct {
		URL string `json:"url"`
	}
	// No limit: every download is still claimed (counted) in the database
	// as it starts, as a limited link's would be.
	if err := s.a.call(ctx, http.MethodPost, "/files/"+s.big+"/links", map[string]any{"label": "bench"}, http.StatusCreated, &made); err != nil {
		return fmt.Errorf("creating the link: %w", err)
	}
	linkURL := s.a.base + made.URL + "/content"
	bufs := make([][]byte, cfg.par)
	for i := range bufs {
		bufs[i] = make([]byte, ioBuf)
	}
	// Untimed warm-up (the page cache).
	if err := s.b.t.record(download(ctx, s.b.hc, linkURL, "", cfg.big, bufs[0], nil)); err != nil {
		return err
	}
	s.startNginx(ctx)
	single, par, err := s.downloadPairs(ctx, "link download", linkURL, "", bufs)
	if err != nil {
		return err
	}
	s.add(single)
	s.add(par)

	// Metadata: the link's (anonymous) against the share's (a token).
	anon := *s.a
	anon.token = ""
	get := func(a *api, path string) job {
		return func(ctx context.Context, _ int, _ *rand.Rand) error { return a.get(ctx, path, http.StatusOK) }
	}
	var ll, sl latRuns
	mem := noMem()
	for r := range cfg.runs {
		smp := s.sample()
		st := loadFor(ctx, s.b.t, cfg.metaConc, cfg.metaDur, get(&anon, made.URL))
		mem = mem.max(smp.end())
		if st.fails > 0 {
			return fmt.Errorf("link metadata: %d of %d requests failed", st.fails, st.n)
		}
		ll.add(st)
		st = loadFor(ctx, s.b.t, cfg.metaConc, cfg.metaDur, get(s.a, "/files/"+s.big))
		if st.fails > 0 {
			return fmt.Errorf("share metadata: %d of %d requests failed", st.fails, st.n)
		}
		sl.add(st)
		s.logf("link metadata run %d/%d: link %.0f req/s, share %.0f req/s", r+1, cfg.runs, ll.rate[r], sl.rate[r])
	}
	ratio := median(ll.rate) / median(sl.rate)
	s.add(row{
		name:   fmt.Sprintf("link metadata: GET /links/{token}, concurrency %d, %s", cfg.metaConc, cfg.metaDur),
		value:  ll.String(),
		ref:    sl.String() + " (GET /files/{id}, same runs)",
		ratio:  ratio,
		target: "≥ 0.9 × share metadata req/s",
		met:    verdict(ptr(ratio >= 0.9), mem),
		mem:    mem,
	})
	return nil
}
