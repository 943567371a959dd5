package harness

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

func TestZZWhole(t *testing.T) {
	dir := "/tmp/scale/big"
	run := filepath.Join(dir, "run")
	path := filepath.Join(run, HistoryFile)
	if _, err := os.Stat(path); err != nil {
		os.MkdirAll(run, 0o755)
		writeBigHistory(t, path, 1_000_000, 1000, 1, true)
	}
	if os.Getenv("ZZ") == "" {
		t.Skip()
	}
	o, err := Check(context.Background(), run, CheckOptions{Results: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(o.Results.Valid)
}
