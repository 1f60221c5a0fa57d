package api

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
)

func TestLogHandlerRedactsWithAttrs(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(NewLogHandler(slog.NewTextHandler(&buf, nil))).With("auth_token", "T0K", "user", "ann")
	l.InfoContext(context.Background(), "x", "Secret_Key", "K3Y", "n", 1)
	out := buf.String()
	if strings.Contains(out, "T0K") || strings.Contains(out, "K3Y") || !strings.Contains(out, "user=ann") {
		t.Errorf("log: %s", out)
	}
	if WithRequestIDs(l) != l {
		t.Error("WithRequestIDs wrapped an already wrapped logger")
	}
}
