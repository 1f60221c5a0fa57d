package app

import "github.com/sachet-server/sachet/internal/fdlimit"

// raiseFileLimit lifts the open-file soft limit to the hard one: each
// connection and each download in flight holds a descriptor, and a server
// of slow downloads runs out long before memory or CPU at the usual 1024.
func (a *App) raiseFileLimit() {
	before, after, err := fdlimit.Raise()
	switch {
	case err != nil:
		a.log.Warn("could not raise the open-file limit", "limit", before, "err", err)
	case after != before:
		a.log.Info("raised the open-file limit", "from", before, "to", after)
	default:
		// Go's runtime already raises it at start-up; something (the
		// embedding program, a test) may have lowered it since.
		a.log.Info("open-file limit", "limit", after)
	}
}
