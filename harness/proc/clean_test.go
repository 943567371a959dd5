package proc

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// startChildHarness runs this test binary as a harness that starts a
// 3-node world (see childHarness) and returns it with its run tag and
// table once the nodes are up.
func startChildHarness(t *testing.T, mode string) (*exec.Cmd, string, string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+mode, "SPLITBRAIN_BINARY="+nodeBinary)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	f := strings.Fields(line)
	if err != nil || len(f) != 3 || f[0] != "ready" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child harness: %q, %v", line, err)
	}
	return cmd, f[1], f[2]
}

func runProcsOf(tag string) []int {
	var pids []int
	for pid, t := range runProcesses() {
		if t.String() == tag {
			pids = append(pids, pid)
		}
	}
	slices.Sort(pids)
	return pids
}

func tableExists(t *testing.T, name string) bool {
	t.Helper()
	names, err := splitbrainTables()
	if err != nil {
		t.Fatal(err)
	}
	return slices.Contains(names, name)
}

// TestCleanAfterHarnessKilled SIGKILLs a running harness: its nodes die
// with it (parent-death signal), its nftables table stays, and Clean
// removes it and says so.
func TestCleanAfterHarnessKilled(t *testing.T) {
	requireRoot(t)
	cmd, tag, table := startChildHarness(t, "plain")
	if n := len(runProcsOf(tag)); n != 3 {
		t.Fatalf("the child harness runs %d node processes, want 3", n)
	}
	if !tableExists(t, table) {
		t.Fatalf("the child's table %s does not exist", table)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	waitFor(t, "nodes to die with the harness", func() bool { return len(runProcsOf(tag)) == 0 })
	if !tableExists(t, table) {
		t.Fatal("the table vanished without clean: this test proves nothing")
	}
	r := Clean("")
	if !slices.Contains(r.Tables, table) || len(r.Errors) > 0 {
		t.Fatalf("clean: %+v", r)
	}
	if !strings.Contains(r.String(), "deleted nft table "+table) {
		t.Fatalf("clean's report does not name the table: %q", r)
	}
	if tableExists(t, table) {
		t.Fatal("the table survived clean")
	}
	if n := len(runProcsOf(tag)); n != 0 {
		t.Fatalf("%d node processes survived clean", n)
	}
	// Its temporary directory is gone too.
	if dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), TempPrefix+tag+"-*")); len(dirs) != 0 {
		t.Fatalf("temp dirs left: %v", dirs)
	}
}

// TestWatchdogCleansUp: with the watchdog on, a SIGKILLed harness leaves
// nothing behind without anyone running clean.
func TestWatchdogCleansUp(t *testing.T) {
	requireRoot(t)
	cmd, tag, table := startChildHarness(t, "watchdog")
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	waitFor(t, "the watchdog to delete the table and the directory, and the nodes to die", func() bool {
		dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), TempPrefix+tag+"-*"))
		return !tableExists(t, table) && len(runProcsOf(tag)) == 0 && len(dirs) == 0
	})
	if r := Clean(tag); r.String() != "nothing to clean" {
		t.Fatalf("after the watchdog, clean found: %s", r)
	}
}

// TestCleanKillsOrphans: a node process whose harness is gone (and that
// somehow survived it) is killed.
func TestCleanKillsOrphans(t *testing.T) {
	dead := runTag{pid: 1 << 22, start: 1, n: 1} // no such process
	cmd := exec.Command("sleep", "60")
	cmd.Env = append(os.Environ(), RunEnv+"="+dead.String())
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	dir, err := os.MkdirTemp("", TempPrefix+dead.String()+"-")
	if err != nil {
		t.Fatal(err)
	}
	r := Clean(dead.String())
	if !slices.Contains(r.Killed, cmd.Process.Pid) || !slices.Contains(r.Dirs, dir) {
		t.Fatalf("clean: %s", r)
	}
	if want := fmt.Sprintf("killed 1 node processes (pids %d)", cmd.Process.Pid); !strings.Contains(r.String(), want) {
		t.Fatalf("report %q does not say %q", r, want)
	}
	// Clean SIGKILLed it (it would end on its own only after 60 s):
	// wait for it, without a bound of our own (see waitFor).
	if err := <-done; !killedBy(err, syscall.SIGKILL) {
		t.Fatalf("the orphan ended with %v, want killed by SIGKILL", err)
	}
	// A live harness's leftovers are not touched by a plain clean.
	live, err := newRunTag()
	if err != nil {
		t.Fatal(err)
	}
	mine, err := os.MkdirTemp("", TempPrefix+live.String()+"-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(mine)
	if r := Clean(""); slices.Contains(r.Dirs, mine) {
		t.Fatalf("clean removed a live run's directory: %s", r)
	}
}

func TestRunTag(t *testing.T) {
	tag, err := newRunTag()
	if err != nil {
		t.Fatal(err)
	}
	back, ok := parseRunTag(tag.String())
	if !ok || back != tag || !tag.ownerAlive() {
		t.Fatalf("tag %s: parsed %v %v, alive %v", tag, back, ok, tag.ownerAlive())
	}
	for _, bad := range []string{"", "1_2", "a_b_c", "0_1_1", "1_2_3_4"} {
		if _, ok := parseRunTag(bad); ok {
			t.Errorf("parsed %q", bad)
		}
	}
	if (runTag{pid: tag.pid, start: tag.start + 1, n: 1}).ownerAlive() {
		t.Fatal("a tag with another start time counts as alive (pid reuse)")
	}
}

// killedBy reports whether a process's wait error says sig ended it.
func killedBy(err error, sig syscall.Signal) bool {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == sig
}

// TestNewWithoutPrivilege: without CAP_NET_ADMIN, New fails at once and
// says what to do.
func TestNewWithoutPrivilege(t *testing.T) {
	requireRoot(t) // to become someone else
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "splitbrain-proc-test-exe")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)
	copyExe := filepath.Join(dir, "proc.test")
	b, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(copyExe, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(copyExe, "-test.run=^$")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), childEnv+"=unprivileged", "SPLITBRAIN_BINARY="+nodeBinary, "HOME="+dir, "TMPDIR="+dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	t.Logf("%s", out)
	if !strings.Contains(string(out), "needs root (CAP_NET_ADMIN)") || !strings.Contains(string(out), "--no-net-faults") {
		t.Fatalf("New without privilege said: %s", out)
	}
}
