package db

import (
	"fmt"
	"time"
)

// timeLayout is how times are bound as parameters, in both dialects: UTC,
// always six fractional digits. In SQLite the column holds this text, and
// fixed width makes text order time order; MySQL converts it to DATETIME(6).
const timeLayout = "2006-01-02 15:04:05.000000"

// ts formats t for binding.
func ts(t time.Time) string { return t.UTC().Format(timeLayout) }

// utc truncates t to what the database keeps, so a value the store hands
// back equals the value read later.
func utc(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// timestamp scans either dialect's time column: time.Time from MySQL
// (parseTime=true), text from SQLite.
type timestamp struct{ time.Time }

func (t *timestamp) Scan(v any) error {
	switch v := v.(type) {
	case time.Time:
		t.Time = v.UTC()
		return nil
	case string:
		return t.parse(v)
	case []byte:
		return t.parse(string(v))
	}
	return fmt.Errorf("db: cannot scan %T into a time", v)
}

func (t *timestamp) parse(s string) error {
	// ".999999" accepts any number of fractional digits, including none.
	p, err := time.ParseInLocation("2006-01-02 15:04:05.999999999", s, time.UTC)
	if err != nil {
		return fmt.Errorf("db: bad time %q: %w", s, err)
	}
	t.Time = p
	return nil
}

// nullTimestamp is a timestamp that may be NULL.
type nullTimestamp struct {
	timestamp
	Valid bool
}

func (t *nullTimestamp) Scan(v any) error {
	if v == nil {
		*t = nullTimestamp{}
		return nil
	}
	t.Valid = true
	return t.timestamp.Scan(v)
}

func (t nullTimestamp) ptr() *time.Time {
	if !t.Valid {
		return nil
	}
	v := t.Time
	return &v
}
