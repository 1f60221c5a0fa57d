package cli

import (
	"testing"
	"time"
)

func TestParseExpiry(t *testing.T) {
	now := time.Date(2026, 12, 2, 16, 0, 0, 500, time.UTC)
	for _, tc := range []struct {
		in      string
		want    time.Time
		wantErr bool
	}{
		{"2027-01-01T00:00:00Z", time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), false},
		{"2027-01-01T01:00:00+01:00", time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), false},
		{"720h", now.Add(720 * time.Hour).Truncate(time.Second), false},
		{"90m", now.Add(90 * time.Minute).Truncate(time.Second), false},
		{"-1h", time.Time{}, true},
		{"0s", time.Time{}, true},
		{"soon", time.Time{}, true},
		{"2027-01-01", time.Time{}, true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseExpiry(tc.in, now)
			if (err != nil) != tc.wantErr {
				t.Fatalf("parseExpiry(%q) error %v, want error %v", tc.in, err, tc.wantErr)
			}
			if err == nil && !got.Equal(tc.want) {
				t.Errorf("parseExpiry(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}
