package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"
)

func TestSeverityAndJobID(t *testing.T) {
	tests := []struct {
		log  func(l *slog.Logger)
		want string
	}{
		{func(l *slog.Logger) { l.Debug("d") }, "DEBUG"},
		{func(l *slog.Logger) { l.Info("i") }, "INFO"},
		{func(l *slog.Logger) { l.Warn("w") }, "WARNING"},
		{func(l *slog.Logger) { l.Error("e") }, "ERROR"},
	}
	for _, tc := range tests {
		var buf bytes.Buffer
		ctx := WithJob(WithLogger(context.Background(), New(&buf, slog.LevelDebug)), "job-1")
		tc.log(FromContext(ctx))
		var line map[string]any
		if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
			t.Fatalf("not JSON: %q", buf.String())
		}
		if line["severity"] != tc.want || line["jobId"] != "job-1" || line["message"] == nil {
			t.Errorf("line = %v, want severity %s, jobId job-1 and a message", line, tc.want)
		}
	}
}
