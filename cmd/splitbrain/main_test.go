package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.jsonl")
	os.WriteFile(bad, []byte("{\"index\":0,\n"), 0o644)
	emptyEDN := filepath.Join(dir, "empty.edn")
	os.WriteFile(emptyEDN, []byte("[]\n"), 0o644)
	emptyJSONL := filepath.Join(dir, "empty.jsonl")
	os.WriteFile(emptyJSONL, nil, 0o644)
	sched := filepath.Join(dir, "s.txt")
	os.WriteFile(sched, []byte("1.0s partition halfs\n"), 0o644)
	cases := []struct {
		name string
		args []string
		want int
	}{
		{"valid run", []string{"run", "--seed", "7", "--time", "20s", "--liveness-bound", "5s", "--results", dir}, 0},
		{"invalid run", []string{"run", "--seed", "7", "--time", "20s", "--liveness-bound", "5s", "--bug", "local-reads", "--results", dir}, 1},
		{"check latest", []string{"check", filepath.Join(dir, "latest")}, 1},
		{"malformed history", []string{"check", bad, "--results", dir}, 2},
		{"empty EDN history", []string{"check", emptyEDN, "--results", dir}, 2},
		{"empty JSONL history", []string{"check", emptyJSONL, "--results", dir}, 2},
		{"negative check timeout", []string{"check", filepath.Join(dir, "latest"), "--check-timeout", "-1s"}, 2},
		{"bad flag", []string{"run", "--nodes", "many"}, 2},
		{"unknown bug", []string{"run", "--bug", "nope", "--results", dir}, 2},
		{"bad schedule", []string{"run", "--schedule", sched, "--results", dir}, 2},
		{"bad mix", []string{"run", "--mix", "1/2", "--results", dir}, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := run(c.args); got != c.want {
				t.Fatalf("splitbrain %v: exit %d, want %d", c.args, got, c.want)
			}
		})
	}
}
