package harness

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/splitbrain/splitbrain/harness/proc"
	"github.com/splitbrain/splitbrain/harness/raftkv"
	"github.com/splitbrain/splitbrain/model"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// splitbrainBinary builds the splitbrain command once per test binary:
// the process world starts its nodes with it.
func splitbrainBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "splitbrain-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "splitbrain")
		_, file, _, _ := runtime.Caller(0)
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/splitbrain")
		cmd.Dir = filepath.Join(filepath.Dir(file), "..")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = err
			t.Logf("%s", out)
		}
	})
	if buildErr != nil {
		t.Fatalf("building splitbrain: %v", buildErr)
	}
	return binPath
}

func needRoot(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: process-mode runs start real node processes")
	}
	if os.Geteuid() != 0 {
		t.Skip("process mode needs root for nftables (CAP_NET_ADMIN); run as root (CI does)")
	}
}

// TestProcessModeRuns: the same test in the process world — real
// processes, TCP, nftables partitions, SIGKILL — is valid for the
// reference node and invalid with the local-reads canary.
func TestProcessModeRuns(t *testing.T) {
	needRoot(t)
	bin := splitbrainBinary(t)
	for _, c := range []struct {
		bug  string
		want model.Validity
	}{{"", model.Valid}, {"local-reads", model.Invalid}} {
		t.Run("bug="+c.bug, func(t *testing.T) {
			tt := Test{Mode: "process", Seed: 1, Duration: Duration(20 * time.Second), Nemesis: []string{"partition", "kill"},
				LivenessBound: Duration(5 * time.Second), Results: t.TempDir(), Binary: bin}
			if c.bug != "" {
				tt.Bugs = []string{c.bug}
			}
			out, err := Run(context.Background(), tt)
			if err != nil {
				t.Fatal(err)
			}
			if out.Results.Valid != c.want {
				t.Fatalf("verdict %s, want %s\n%s", out.Results.Valid, c.want, Summary(out.Results, &out.Test, false))
			}
			logs, _ := filepath.Glob(filepath.Join(out.Dir, LogsDir, "n*.log"))
			if len(logs) < 5 {
				t.Errorf("node logs in the run dir: %v", logs)
			}
		})
	}
}

// TestProcessModeRefusesAnotherSystem: a node of one's own in process mode
// runs from a binary that must serve it; a binary that serves another
// node (here splitbrain's own, the reference node) is refused at its
// first start, with what to do, rather than tested by mistake.
func TestProcessModeRefusesAnotherSystem(t *testing.T) {
	needRoot(t)
	sys := raftkv.System(nil)
	sys.Name = "mine"
	out, err := Run(context.Background(), Test{Mode: "process", Seed: 1, Duration: Duration(10 * time.Second),
		LivenessBound: Duration(5 * time.Second), Results: t.TempDir(), Binary: splitbrainBinary(t), SystemImpl: sys, Quick: true})
	if err == nil && out.Results.Valid == model.Valid {
		t.Fatalf("a binary serving the reference node passed for %q", sys.Name)
	}
	msg := fmt.Sprint(err)
	if out != nil {
		msg += out.Results.Error
	}
	if !strings.Contains(msg, `serves system "raftkv", want "mine"`) || !strings.Contains(msg, "node.ServeIfNode") {
		t.Fatalf("the refusal does not say what is wrong: %s", msg)
	}
}

// TestRunRefusesInANodeProcess: a test binary started as a node process
// that runs its tests instead (its TestMain lacks node.ServeIfNode) does
// not start a world of its own.
func TestRunRefusesInANodeProcess(t *testing.T) {
	t.Setenv(proc.RunEnv, "sb-test")
	_, err := Run(context.Background(), Test{Seed: 1, Duration: Duration(time.Second), LivenessBound: Duration(time.Second / 2), Results: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "node.ServeIfNode") {
		t.Fatalf("Run in a node process: %v", err)
	}
}
