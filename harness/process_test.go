package harness

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/splitbrain/splitbrain/harness/proc"
	"github.com/splitbrain/splitbrain/harness/raftkv"
	"github.com/splitbrain/splitbrain/model"
	"github.com/splitbrain/splitbrain/nemesis"
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
// reference node and invalid with the local-reads canary, whether the
// node is the built-in system or the same node described by a system file
// read from disk (the canary passed through the file's {{.Bugs}}). The
// schedule is written out, not generated: a generated 20s schedule has
// room for only a majority crash and a single crash, and whether the
// canary shows then depends on the machine's timing. A node cut off for
// 8s serves stale local reads on any machine — as long as its clients
// read: each of them soon waits on a write that cannot commit there, so
// the operation timeout is 2s (the node gives up at 1.6s), and they come
// back to read several times while the others write. (With 4s and the
// default 5s timeout, the cut-off node's clients were all stuck on writes
// for the whole partition whenever it had been the leader, and the run
// was valid.)
func TestProcessModeRuns(t *testing.T) {
	needRoot(t)
	bin := splitbrainBinary(t)
	_, file, _, _ := runtime.Caller(0)
	sysFile := filepath.Join(filepath.Dir(file), "proc", "systems", "raftkv.toml")
	schedule, err := nemesis.ParseString(`1.5s partition isolate n2
9.5s heal
11.0s kill minority
12.5s restart all
`, "process-mode.txt")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		system, bug string
		want        model.Validity
	}{{"", "", model.Valid}, {"", "local-reads", model.Invalid}, {sysFile, "", model.Valid}, {sysFile, "local-reads", model.Invalid}} {
		name := "builtin"
		if c.system != "" {
			name = "file"
		}
		t.Run(name+"/bug="+c.bug, func(t *testing.T) {
			tt := Test{Mode: "process", Seed: 1, Duration: Duration(20 * time.Second), Schedule: &schedule,
				LivenessBound: Duration(5 * time.Second), Results: t.TempDir(), Binary: bin, System: c.system}
			tt.Workload.Timeout = 2 * time.Second
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
			if conv := out.Results.Convergence; c.want == model.Valid && (conv == nil || !conv.Available || !conv.Converged) {
				t.Errorf("convergence: %+v", conv)
			}
			logs, _ := filepath.Glob(filepath.Join(out.Dir, LogsDir, "n*.log"))
			if len(logs) < 5 {
				t.Errorf("node logs in the run dir: %v", logs)
			}
		})
	}
}

// debianEtcd is a symlink to Debian's etcd (/usr/bin/etcd, package
// etcd-server), committed with the tests. Whether etcd is installed is
// read through it: go test's cache rechecks the files a test stats inside
// the module, not outside it, so a skip cached before .ci/setup installed
// etcd would stick; os.Stat follows the link, and installing etcd changes
// what the cache finds there.
const debianEtcd = "testdata/debian-etcd"

// needDebianEtcd skips the test when Debian's etcd is not installed.
func needDebianEtcd(t *testing.T) {
	t.Helper()
	if target, err := os.Readlink(debianEtcd); err != nil || target != "/usr/bin/etcd" {
		t.Fatalf("%s must be a symlink to /usr/bin/etcd (a checkout without symlinks?): %q, %v", debianEtcd, target, err)
	}
	if _, err := os.Stat(debianEtcd); err != nil {
		t.Skip("Debian's etcd-server is not installed (sudo .ci/setup installs it)")
	}
}

// TestEtcdRuns: short runs against etcd — Debian's 3.4 and the newest
// release built from its Go module — under partitions, kills and pauses
// are valid, and the members converge to the same KV hash.
func TestEtcdRuns(t *testing.T) {
	needRoot(t)
	bin := splitbrainBinary(t)
	for _, system := range []string{"etcd@debian", "etcd@v3.7.3"} {
		t.Run(system, func(t *testing.T) {
			if system == "etcd@debian" {
				needDebianEtcd(t)
			}
			// The liveness bound is generous on purpose: etcd 3.4 ships
			// without pre-vote, so after a majority pause the members
			// whose logs fell behind disrupt each election with a higher
			// term until an up-to-date member times out first. Measured
			// on seed 1's schedule (pause majority 1.9s–7.6s): the first
			// ok came 1.2–5.6 s after the resume on an idle machine and
			// 8.6 s under CI's load. That wait is etcd's, drawn from its
			// own unseeded election jitter; this test is about verdicts
			// on safety and convergence, not about etcd 3.4's recovery
			// time, so the bound must not ride on that draw.
			out, err := Run(context.Background(), Test{System: system, Seed: 1, Duration: Duration(18 * time.Second),
				Nemesis: []string{"partition", "kill", "pause"}, LivenessBound: Duration(15 * time.Second), Results: t.TempDir(), Binary: bin})
			if err != nil {
				t.Fatal(err)
			}
			r := out.Results
			if r.Valid != model.Valid || r.Mode != "process" || r.Convergence == nil || !r.Convergence.Converged {
				t.Fatalf("verdict %s\n%s", r.Valid, Summary(r, &out.Test, false))
			}
			if !strings.HasPrefix(r.SystemVersion, "etcd 3.") {
				t.Errorf("system version %q", r.SystemVersion)
			}
			tj, err := ReadTest(out.Dir)
			if err != nil || tj.System != system {
				t.Errorf("test.json system: %+v %v", tj, err)
			}
		})
	}
}

// TestEtcdCleanAfterHarnessKilled: a harness SIGKILLed in the middle of
// an etcd run leaves no etcd (or adapter) process and no nftables table
// once `splitbrain clean` has run.
func TestEtcdCleanAfterHarnessKilled(t *testing.T) {
	needRoot(t)
	needDebianEtcd(t)
	bin := splitbrainBinary(t)
	cmd := exec.Command(bin, "run", "--system", "etcd@debian", "--time", "60s", "--seed", "1", "--results", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	etcds := func() (n int) {
		pids, _, _ := proc.LeftoversOf(cmd.Process.Pid)
		for _, p := range pids {
			if b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(p), "comm")); err == nil && strings.TrimSpace(string(b)) == "etcd" {
				n++
			}
		}
		return n
	}
	deadline := time.Now().Add(60 * time.Second)
	for etcds() < 5 {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("the run did not start 5 etcd members within 60s (it has %d)", etcds())
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // mid-run: clients and faults under way
	if _, tables, _ := proc.LeftoversOf(cmd.Process.Pid); len(tables) != 1 {
		t.Fatalf("the running harness has tables %v, want one", tables)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	<-exited
	out, err := exec.Command(bin, "clean").CombinedOutput()
	if err != nil {
		t.Fatalf("splitbrain clean: %v\n%s", err, out)
	}
	deadline = time.Now().Add(10 * time.Second)
	for {
		pids, tables, err := proc.LeftoversOf(cmd.Process.Pid)
		if err != nil {
			t.Fatal(err)
		}
		if len(pids) == 0 && len(tables) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after splitbrain clean (%s): processes %v, tables %v remain", strings.TrimSpace(string(out)), pids, tables)
		}
		time.Sleep(100 * time.Millisecond)
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
