package tests

import (
	"fmt"
	"os"
	"slices"
	"testing"
	"time"
)

// TestMeasureQuotaUpload measures what quota reservations cost an upload:
// 32 MiB in 8 MiB Dropzone chunks, by a user without a quota and one with
// a (never reached) quota, alternating, 7 runs each; it prints medians and
// their ratio. Opt-in (SACHET_QUOTA_MEASURE=1): timings on a shared
// machine are noise, so it asserts nothing.
func TestMeasureQuotaUpload(t *testing.T) {
	if os.Getenv("SACHET_QUOTA_MEASURE") == "" {
		t.Skip()
	}
	eachDB(t, func(t *testing.T, s *server) {
		s = s.on(t)
		free := s.user("free", "CREATE")
		capped := s.user("capped", "CREATE")
		expect(t, s.req("PATCH", "/users/capped", s.admin, map[string]any{"quota": 1 << 40}), 200)
		data := randBytes(32 << 20)
		var a, b []time.Duration
		for i := 0; i < 7; i++ {
			for _, u := range []struct {
				tok string
				out *[]time.Duration
			}{{free, &a}, {capped, &b}} {
				id := s.newShare(u.tok, "m.bin")
				t0 := time.Now()
				n := 8 << 20
				for i := 0; i < 4; i++ {
					want := 200
					if i == 3 {
						want = 201
					}
					expect(t, s.sendChunk("POST", id, u.tok, chunk{UUID: "m", Index: i, Total: 4, Data: data[i*n : (i+1)*n],
						Extra: map[string]string{"dzchunksize": fmt.Sprint(n), "dztotalfilesize": fmt.Sprint(len(data))}}), want)
				}
				*u.out = append(*u.out, time.Since(t0))
			}
		}
		slices.Sort(a)
		slices.Sort(b)
		fmt.Printf("%s: 32 MiB upload, 8 MiB chunks, 7 runs: unlimited median %v, with quota median %v, ratio %.2f\n",
			s.Dialect, a[3], b[3], float64(b[3])/float64(a[3]))
	})
}
