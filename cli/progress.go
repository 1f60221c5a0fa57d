package cli

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// meter shows a transfer's progress. Add may be called from several
// goroutines.
type meter interface {
	Add(n int64)
	// Done ends the display; ok says whether the transfer finished.
	Done(ok bool)
}

// plainEvery is how often plain progress lines are printed: often enough
// to show life in a CI log, rarely enough not to flood it.
const plainEvery = 2 * time.Second

// meter returns a progress display for a transfer of total bytes of which
// start are already there: a bar (bytes, rate, ETA) when stderr is a
// terminal, plain lines otherwise, nothing with --no-progress.
func (r *runner) meter(label string, total, start int64) meter {
	if r.noProgress {
		return nopMeter{}
	}
	if f, ok := r.env.Stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		bar := progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(f),
			progressbar.OptionSetDescription(label),
			progressbar.OptionShowBytes(true),
			progressbar.OptionShowTotalBytes(true),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionUseIECUnits(true),
			progressbar.OptionSetWidth(30), // fixed: a width read from a terminal that reports none collapses the bar
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSetRenderBlankState(true),
		)
		_ = bar.Set64(start)
		return &barMeter{bar: bar, w: f}
	}
	m := &plainMeter{w: r.env.Stderr, label: label, total: total, done: start, start: start, began: time.Now()}
	m.last = m.began
	if start > 0 {
		fmt.Fprintf(m.w, "%s: %s, resuming after %s\n", label, size(total), size(start))
	} else {
		fmt.Fprintf(m.w, "%s: %s\n", label, size(total))
	}
	return m
}

type nopMeter struct{}

func (nopMeter) Add(int64) {}
func (nopMeter) Done(bool) {}

type barMeter struct {
	bar *progressbar.ProgressBar
	w   io.Writer
}

func (m *barMeter) Add(n int64) { _ = m.bar.Add64(n) }

func (m *barMeter) Done(ok bool) {
	if ok {
		_ = m.bar.Finish()
	}
	fmt.Fprintln(m.w) // leave the bar's last state on its own line
}

// plainMeter prints the size at the start, "label: 64.0 MiB / 256.0 MiB
// (25%), 80.1 MiB/s, ETA 2s" every plainEvery, and a summary at the end.
type plainMeter struct {
	w     io.Writer
	label string

	mu          sync.Mutex
	total, done int64
	start       int64 // bytes already there when this run began
	began, last time.Time
}

func (m *plainMeter) Add(n int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.done += n
	if now := time.Now(); now.Sub(m.last) >= plainEvery {
		m.last = now
		m.line(now)
	}
}

func (m *plainMeter) line(now time.Time) {
	el := now.Sub(m.began).Seconds()
	rate := 0.0
	if el > 0 {
		rate = float64(m.done-m.start) / el
	}
	pct := 100.0
	if m.total > 0 {
		pct = 100 * float64(m.done) / float64(m.total)
	}
	eta := "?"
	if rate > 0 {
		eta = (time.Duration(float64(m.total-m.done)/rate) * time.Second).Round(time.Second).String()
	}
	fmt.Fprintf(m.w, "%s: %s / %s (%.0f%%), %s/s, ETA %s\n", m.label, size(m.done), size(m.total), pct, size(int64(rate)), eta)
}

func (m *plainMeter) Done(ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !ok {
		m.line(time.Now())
		return
	}
	el := time.Since(m.began)
	rate := 0.0
	if s := el.Seconds(); s > 0 {
		rate = float64(m.done-m.start) / s
	}
	fmt.Fprintf(m.w, "%s: %s done in %s (%s/s)\n", m.label, size(m.total), el.Round(time.Millisecond), size(int64(rate)))
}

// size formats bytes in IEC units: 8.0 MiB.
func size(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for v := n / unit; v >= unit; v /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
