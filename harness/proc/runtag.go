package proc

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// A run tag names everything one World creates outside itself — the
// nftables table, the node processes (in their environment), a temporary
// directory — so that `splitbrain clean` can tell leftovers of a dead
// harness from those of a live one: <pid>_<start>_<n>, the harness's pid,
// its start time in clock ticks since boot (pids are reused; the pair is
// not), and a counter of worlds in that process.
type runTag struct {
	pid   int
	start uint64
	n     uint64
}

// RunEnv is the environment variable that marks a node process with its
// run tag.
const RunEnv = "SPLITBRAIN_RUN"

var worldCount atomic.Uint64

func newRunTag() (runTag, error) {
	pid := os.Getpid()
	start, ok := procStart(pid)
	if !ok {
		return runTag{}, fmt.Errorf("cannot read this process's start time from /proc/%d/stat", pid)
	}
	return runTag{pid: pid, start: start, n: worldCount.Add(1)}, nil
}

func (t runTag) String() string { return fmt.Sprintf("%d_%d_%d", t.pid, t.start, t.n) }

func parseRunTag(s string) (runTag, bool) {
	parts := strings.Split(s, "_")
	if len(parts) != 3 {
		return runTag{}, false
	}
	pid, err1 := strconv.Atoi(parts[0])
	start, err2 := strconv.ParseUint(parts[1], 10, 64)
	n, err3 := strconv.ParseUint(parts[2], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || pid <= 0 {
		return runTag{}, false
	}
	return runTag{pid: pid, start: start, n: n}, true
}

// ownerAlive reports whether the harness process that made the tag still
// runs.
func (t runTag) ownerAlive() bool {
	start, ok := procStart(t.pid)
	if !ok || start != t.start {
		return false
	}
	state, _, ok := procState(t.pid)
	return ok && state != 'Z' && state != 'X'
}

// procStart reads a process's start time (field 22 of /proc/<pid>/stat).
func procStart(pid int) (uint64, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')') // the command name may hold spaces and parens
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:])
	// After the name: state(3) ppid(4) … starttime(22).
	if len(f) < 20 {
		return 0, false
	}
	v, err := strconv.ParseUint(f[19], 10, 64)
	return v, err == nil
}

// procState returns a process's state letter (R, S, T, Z, …) and parent.
func procState(pid int) (state byte, ppid int, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 2 {
		return 0, 0, false
	}
	ppid, err = strconv.Atoi(f[1])
	return f[0][0], ppid, err == nil
}

// waitStopped waits until every thread of pid is stopped (state T), or
// the process is gone; false if that takes longer than d.
func waitStopped(pid int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		if allStopped(pid) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(time.Millisecond)
	}
}

func allStopped(pid int) bool {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return true // gone
	}
	for _, e := range ents {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/stat", pid, e.Name()))
		if err != nil {
			continue // the thread exited
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 || i+2 >= len(s) {
			continue
		}
		switch s[i+2] {
		case 'T', 't', 'Z', 'X':
		default:
			return false
		}
	}
	return true
}

// procCPU is the CPU time (user + system) pid has used so far.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseUint(f[11], 10, 64) // utime, field 14
	k, _ := strconv.ParseUint(f[12], 10, 64) // stime, field 15
	const hz = 100                           // USER_HZ on Linux
	return time.Duration(u+k) * time.Second / hz
}
