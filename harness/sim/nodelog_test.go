package sim

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/splitbrain/splitbrain/harness/raftkv"
	"github.com/splitbrain/splitbrain/harness/world"
)

// TestNodeLogsStreamed: with a LogDir the node logs go to their files as
// they are written — nothing of them stays in memory — and the files hold
// the bytes a run that kept its logs in memory writes.
func TestNodeLogsStreamed(t *testing.T) {
	run := func(logDir string) *World {
		w, err := New(Config{Seed: 3, System: raftkv.System(nil), LogDir: logDir})
		if err != nil {
			t.Fatal(err)
		}
		err = w.Run(func() {
			w.Sleep(3 * time.Second)
			w.Crash(2, world.KeepWritten)
			w.Sleep(2 * time.Second)
			if err := w.Restart(2); err != nil {
				t.Error(err)
			}
			w.Sleep(2 * time.Second)
		})
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	inMemory := run("")
	memDir := t.TempDir()
	if err := inMemory.WriteLogs(memDir); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	streamed := run(dir)
	for _, id := range streamed.order {
		if n := len(streamed.nodes[id].log.Bytes()); n != 0 {
			t.Errorf("%s: %d bytes of log kept in memory", id, n)
		}
	}
	if err := streamed.WriteLogs(dir); err != nil {
		t.Fatal(err)
	}
	if err := streamed.Close(); err != nil {
		t.Fatal(err)
	}
	for _, id := range inMemory.order {
		want, err := os.ReadFile(filepath.Join(memDir, id.String()+".log"))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(dir, id.String()+".log"))
		if err != nil {
			t.Fatal(err)
		}
		if len(want) == 0 || !bytes.Equal(got, want) {
			t.Errorf("%s: streamed log (%d bytes) differs from the log kept in memory (%d bytes)", id, len(got), len(want))
		}
	}
}
