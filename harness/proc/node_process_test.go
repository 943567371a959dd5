package proc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/splitbrain/splitbrain/harness/proc/node"
)

// startNodeProcess runs `splitbrain node` by hand and waits for its API.
func startNodeProcess(t *testing.T, dir string, extra ...string) (*exec.Cmd, string) {
	t.Helper()
	tag, _ := newRunTag()
	peer, api, _, err := pickPorts(tag)
	if err != nil {
		t.Fatal(err)
	}
	apiAddr := fmt.Sprintf("127.0.0.250:%d", api)
	args := append([]string{"node", "--id", "1", "--data", filepath.Join(dir, "data"), "--log", filepath.Join(dir, "n1.log"),
		"--peer-addr", fmt.Sprintf("127.0.0.250:%d", peer), "--api-addr", apiAddr, "--tick", "10ms"}, extra...)
	cmd := exec.Command(nodeBinary, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, apiAddr
}

// waitAPI waits until the node answers its status, or exits (see
// waitFor: no wall-clock bound; each try's timeout only ends the try).
func waitAPI(t *testing.T, c *node.Client, addr string, exited <-chan error) error {
	var exit error
	waitFor(t, "the node's API", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		_, err := c.Status(ctx, addr)
		cancel()
		if err == nil {
			return true
		}
		select {
		case err := <-exited:
			exit = fmt.Errorf("exited: %v", err)
			return true
		default:
			return false
		}
	})
	return exit
}

// TestNodeProcessLifecycle: a node exits cleanly on SIGTERM (its store
// closed, so it reopens at once), and refuses to start without its data
// (exit 3) or on a damaged store (exit 4).
func TestNodeProcessLifecycle(t *testing.T) {
	dir := t.TempDir()
	c := node.NewClient(1)
	defer c.Close()
	cmd, addr := startNodeProcess(t, dir, "--bootstrap")
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	if err := waitAPI(t, c, addr, exited); err != nil {
		t.Fatal(err)
	}
	v := "MARKER-MARKER-MARKER"
	waitFor(t, "a put to be ok", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		r, err := c.KV(ctx, addr, "put", node.KVRequest{Key: "k", Value: &v})
		cancel()
		return err == nil && r.Outcome == node.OutcomeOK
	})
	// A clean exit after SIGTERM, however long the machine takes to get
	// there (no bound of our own: a node that never exits is a hang that
	// go test's -timeout reports).
	cmd.Process.Signal(syscall.SIGTERM)
	if err := <-exited; err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "n1.log")); !strings.Contains(string(b), "msg=stopped") {
		t.Fatalf("log has no clean stop:\n%s", b)
	}

	// Damage the store: exit 4, and the log names the file.
	path := filepath.Join(dir, "data", node.StoreFile)
	b, _ := os.ReadFile(path)
	n := strings.Count(string(b), v)
	if n == 0 {
		t.Fatal("marker not in the store")
	}
	damaged := []byte(strings.ReplaceAll(string(b), v, "MARKER-MARKER-MARKEX"))
	os.WriteFile(path, damaged, 0o644)
	cmd, _ = startNodeProcess(t, dir)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != ExitCorrupt {
		t.Fatalf("start on a damaged store: %v, want exit %d", err, ExitCorrupt)
	}
	if log, _ := os.ReadFile(filepath.Join(dir, "n1.log")); !strings.Contains(string(log), path+": corrupt store") {
		t.Fatalf("the log does not name the damaged file:\n%s", lastLines(filepath.Join(dir, "n1.log"), 3))
	}

	// No data and neither --bootstrap nor --join: data lost, exit 3.
	os.RemoveAll(filepath.Join(dir, "data"))
	cmd, _ = startNodeProcess(t, dir)
	if err := cmd.Wait(); !errors.As(err, &ee) || ee.ExitCode() != ExitDataLost {
		t.Fatalf("start without data: %v, want exit %d", err, ExitDataLost)
	}
}
