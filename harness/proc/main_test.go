package proc

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// nodeBinary is the splitbrain executable the tests' nodes run, built once by
// TestMain.
var nodeBinary string

// childEnv makes the test binary act as a harness that starts a world and
// waits to be killed (see TestCleanAfterHarnessKilled).
const childEnv = "SPLITBRAIN_PROC_TEST_CHILD"

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		childHarness(mode)
		return
	}
	dir, err := os.MkdirTemp("", "splitbrain-proc-test-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	os.Chmod(dir, 0o755) // TestNewWithoutPrivilege runs it as nobody
	nodeBinary = filepath.Join(dir, "splitbrain")
	build := exec.Command("go", "build", "-o", nodeBinary, "github.com/splitbrain/splitbrain/cmd/splitbrain")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building splitbrain for the node processes:", err)
		os.RemoveAll(dir)
		os.Exit(2)
	}
	code := m.Run()
	os.RemoveAll(dir)
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goroutine leak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// childHarness starts a 3-node world, prints its tag and table, and waits
// to be killed.
func childHarness(mode string) {
	if mode == "unprivileged" {
		_, err := New(Config{Nodes: 1, Binary: os.Getenv("SPLITBRAIN_BINARY"), NoWatchdog: true})
		fmt.Println("error:", err)
		return
	}
	w, err := New(Config{Nodes: 3, Binary: os.Getenv("SPLITBRAIN_BINARY"), NoWatchdog: mode != "watchdog"})
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(2)
	}
	fmt.Printf("ready %s %s\n", w.Tag(), w.TableName())
	time.Sleep(time.Hour)
}

func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("process mode needs root for nftables (CAP_NET_ADMIN); run as root or see .ci/setup")
	}
}
