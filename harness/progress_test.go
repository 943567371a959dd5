package harness

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// lockedBuffer is a bytes.Buffer safe for the progress goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestProgressIsDrawnAndChangesNothing: with Test.Progress set, the run
// draws its status line (test time of the total, operations so far,
// faults) and the history is byte-identical to the run without it.
func TestProgressIsDrawnAndChangesNothing(t *testing.T) {
	var buf lockedBuffer
	with := shortTest(t, 11)
	with.Progress = &buf
	a := RunTest(t, with)
	b := RunTest(t, shortTest(t, 11))
	ha, _ := os.ReadFile(filepath.Join(a.Dir, HistoryFile))
	hb, _ := os.ReadFile(filepath.Join(b.Dir, HistoryFile))
	if len(ha) == 0 || !bytes.Equal(ha, hb) {
		t.Fatalf("the status line changed the run: histories of %d and %d bytes", len(ha), len(hb))
	}
	if out := buf.String(); !strings.Contains(out, "/20s · ok ") || !strings.Contains(out, " info ") {
		t.Fatalf("no status line drawn: %q", out)
	}
}
