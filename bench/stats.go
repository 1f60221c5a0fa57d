package main

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

const (
	KiB = int64(1) << 10
	MiB = int64(1) << 20
	GiB = int64(1) << 30
)

// size is a byte count flag that accepts 4096, 4KiB, 8MiB, 1GiB, 1.5GiB.
type size int64

func (s *size) String() string { return fmtSize(int64(*s)) }

func (s *size) Set(v string) error {
	n, err := parseSize(v)
	if err != nil {
		return err
	}
	*s = size(n)
	return nil
}

func parseSize(v string) (int64, error) {
	v = strings.TrimSpace(v)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"GiB", GiB}, {"MiB", MiB}, {"KiB", KiB}, {"G", GiB}, {"M", MiB}, {"K", KiB}, {"B", 1}} {
		if strings.HasSuffix(v, u.suffix) {
			v, mult = strings.TrimSuffix(v, u.suffix), u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || f < 0 || math.IsInf(f, 0) || f*float64(mult) > 1<<50 {
		return 0, fmt.Errorf("bad size %q (want e.g. 4096, 4KiB, 8MiB, 1GiB)", v)
	}
	return int64(f * float64(mult)), nil
}

// sizes is a comma-separated list of sizes.
type sizes []int64

func (s *sizes) String() string {
	var parts []string
	for _, n := range *s {
		parts = append(parts, fmtSize(n))
	}
	return strings.Join(parts, ",")
}

func (s *sizes) Set(v string) error {
	*s = nil
	for _, p := range strings.Split(v, ",") {
		if strings.TrimSpace(p) == "" {
			continue
		}
		n, err := parseSize(p)
		if err != nil {
			return err
		}
		*s = append(*s, n)
	}
	return nil
}

func fmtSize(n int64) string {
	switch {
	case n >= GiB && n%GiB == 0:
		return fmt.Sprintf("%d GiB", n/GiB)
	case n >= MiB && n%MiB == 0:
		return fmt.Sprintf("%d MiB", n/MiB)
	case n >= KiB && n%KiB == 0:
		return fmt.Sprintf("%d KiB", n/KiB)
	}
	return fmt.Sprintf("%d B", n)
}

// stat is what one load run measured.
type stat struct {
	n, fails int64
	elapsed  time.Duration
	lats     []time.Duration
}

func (s stat) rate() float64 {
	if s.elapsed <= 0 {
		return 0
	}
	return float64(s.n) / s.elapsed.Seconds()
}

// pct returns the p-th percentile (0 < p ≤ 100) of the latencies, nearest rank.
func (s stat) pct(p float64) time.Duration {
	if len(s.lats) == 0 {
		return 0
	}
	l := slices.Clone(s.lats)
	slices.Sort(l)
	i := int(math.Ceil(p/100*float64(len(l)))) - 1
	i = max(0, min(i, len(l)-1))
	return l[i]
}

func median(xs []float64) float64 {
	var v []float64
	for _, x := range xs {
		if !math.IsNaN(x) {
			v = append(v, x)
		}
	}
	if len(v) == 0 {
		return math.NaN()
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func maxf(xs []float64) float64 {
	m := math.NaN()
	for _, x := range xs {
		if !math.IsNaN(x) && (math.IsNaN(m) || x > m) {
			m = x
		}
	}
	return m
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func fmtMs(x float64) string {
	switch {
	case math.IsNaN(x):
		return "—"
	case x < 1:
		return fmt.Sprintf("%.2f ms", x)
	case x < 10:
		return fmt.Sprintf("%.1f ms", x)
	}
	return fmt.Sprintf("%.0f ms", x)
}

func fmtNum(x float64) string {
	switch {
	case math.IsNaN(x):
		return "—"
	case x >= 100:
		return fmt.Sprintf("%.0f", x)
	case x >= 10:
		return fmt.Sprintf("%.1f", x)
	}
	return fmt.Sprintf("%.2f", x)
}

func fmtRatio(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "—"
	}
	if x >= 10 {
		return fmt.Sprintf("%.0f×", x)
	}
	return fmt.Sprintf("%.2f×", x)
}

// prng is a splitmix64 byte stream: cheap (several GB/s), deterministic
// from its seed, so a file's bytes can be produced again without storing
// them.
type prng struct {
	s, cur uint64
	nrem   int
}

func newPRNG(seed uint64) *prng { return &prng{s: seed} }

func (p *prng) next() uint64 {
	p.s += 0x9e3779b97f4a7c15
	z := p.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// fill writes the next len(b) bytes of the stream; the stream does not
// depend on how it is cut into calls.
func (p *prng) fill(b []byte) {
	for len(b) > 0 && p.nrem > 0 {
		b[0] = byte(p.cur)
		p.cur >>= 8
		p.nrem--
		b = b[1:]
	}
	for len(b) >= 8 {
		binary.LittleEndian.PutUint64(b, p.next())
		b = b[8:]
	}
	if len(b) > 0 {
		p.cur, p.nrem = p.next(), 8
		p.fill(b)
	}
}

// Read makes the stream an io.Reader (used to write nginx's copy when the
// share's blob cannot be linked).
func (p *prng) Read(b []byte) (int, error) { p.fill(b); return len(b), nil }
