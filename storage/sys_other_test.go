//go:build !linux

package storage

import "testing"

func dropCache(tb testing.TB, path string) { tb.Skip("no page cache control") }
