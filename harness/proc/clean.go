package proc

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// CleanReport says what Clean removed.
type CleanReport struct {
	Killed []int    // node (and watchdog) processes, by pid
	Tables []string // nftables tables deleted
	Dirs   []string // temporary directories removed
	Errors []error  // what could not be removed or checked
}

// String is one line per kind of leftover, or "nothing to clean".
func (r CleanReport) String() string {
	var parts []string
	if len(r.Killed) > 0 {
		pids := make([]string, len(r.Killed))
		for i, p := range r.Killed {
			pids[i] = strconv.Itoa(p)
		}
		parts = append(parts, fmt.Sprintf("killed %d node processes (pids %s)", len(r.Killed), strings.Join(pids, ", ")))
	}
	for _, t := range r.Tables {
		parts = append(parts, "deleted nft table "+t)
	}
	for _, d := range r.Dirs {
		parts = append(parts, "removed "+d)
	}
	for _, e := range r.Errors {
		parts = append(parts, "error: "+e.Error())
	}
	if len(parts) == 0 {
		return "nothing to clean"
	}
	return strings.Join(parts, "\n")
}

// Clean removes what process-mode runs left behind when their harness died
// without closing its world: node processes (marked with SPLITBRAIN_RUN),
// nftables tables named splitbrain_<tag>, and temporary directories
// splitbrain-<tag>-*. Only leftovers whose harness process is gone are
// touched, unless tag names one run: then that run's, alive or not.
func Clean(tag string) CleanReport {
	var r CleanReport
	pick := func(t runTag) bool {
		if tag != "" {
			return t.String() == tag
		}
		return !t.ownerAlive()
	}
	r.Killed, r.Errors = killLeftovers(pick)
	tables, err := splitbrainTables()
	if err != nil {
		r.Errors = append(r.Errors, err)
	}
	for _, name := range tables {
		t, ok := parseRunTag(strings.TrimPrefix(name, TablePrefix))
		if !ok || !pick(t) {
			continue
		}
		if err := deleteTable(name); err != nil {
			r.Errors = append(r.Errors, err)
		} else {
			r.Tables = append(r.Tables, name)
		}
	}
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), TempPrefix+"*"))
	sort.Strings(dirs)
	for _, d := range dirs {
		rest := strings.TrimPrefix(filepath.Base(d), TempPrefix)
		i := strings.LastIndexByte(rest, '-')
		if i < 0 {
			continue
		}
		t, ok := parseRunTag(rest[:i])
		if !ok || !pick(t) {
			continue
		}
		if err := os.RemoveAll(d); err != nil {
			r.Errors = append(r.Errors, err)
		} else {
			r.Dirs = append(r.Dirs, d)
		}
	}
	return r
}

// runProcesses lists the live (not zombie) processes marked with a run
// tag, by pid.
func runProcesses() map[int]runTag {
	out := map[int]runTag{}
	ents, _ := os.ReadDir("/proc")
	self := os.Getpid()
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil {
			continue
		}
		for _, kv := range bytes.Split(env, []byte{0}) {
			if v, ok := bytes.CutPrefix(kv, []byte(RunEnv+"=")); ok {
				if t, ok := parseRunTag(string(v)); ok {
					if st, _, ok := procState(pid); ok && st != 'Z' && st != 'X' {
						out[pid] = t
					}
				}
				break
			}
		}
	}
	return out
}

func killLeftovers(pick func(runTag) bool) (killed []int, errs []error) {
	procs := runProcesses()
	var pids []int
	for pid, t := range procs {
		if pick(t) {
			pids = append(pids, pid)
		}
	}
	sort.Ints(pids)
	for _, pid := range pids {
		target := pid
		if pg, err := syscall.Getpgid(pid); err == nil && pg == pid {
			target = -pid // its whole group
		}
		if err := syscall.Kill(target, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			errs = append(errs, fmt.Errorf("kill pid %d: %w", pid, err))
			continue
		}
		killed = append(killed, pid)
	}
	// Wait until they are gone (or zombies, which are gone for our purposes).
	deadline := time.Now().Add(5 * time.Second)
	for _, pid := range killed {
		for {
			st, _, ok := procState(pid)
			if !ok || st == 'Z' || st == 'X' {
				break
			}
			if time.Now().After(deadline) {
				errs = append(errs, fmt.Errorf("pid %d still runs 5s after SIGKILL", pid))
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return killed, errs
}

// Watch is the watchdog of run tag (`splitbrain clean --watch`): started
// by the harness with a parent-death signal of SIGTERM, it waits for that
// signal (or for its parent to change), checks that the harness really is
// gone, and then cleans up the run. Interrupts are ignored: a Ctrl-C on
// the terminal is the harness's to handle.
func Watch(tag string) (CleanReport, error) {
	t, ok := parseRunTag(tag)
	if !ok {
		return CleanReport{}, fmt.Errorf("watch: %q is not a run tag (pid_start_n)", tag)
	}
	signal.Ignore(syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM)
	defer signal.Stop(sigs)
	ppid := os.Getppid()
	for t.ownerAlive() {
		select {
		case <-sigs:
			// The parent-death signal may arrive while the harness is
			// still exiting: give it a moment to be gone.
			for i := 0; i < 100 && t.ownerAlive(); i++ {
				time.Sleep(50 * time.Millisecond)
			}
			if t.ownerAlive() {
				return CleanReport{}, nil // a stray SIGTERM: the harness lives and cleans up itself
			}
		case <-time.After(time.Second):
			if os.Getppid() != ppid && t.ownerAlive() {
				return CleanReport{}, nil // the world closed without stopping us
			}
		}
	}
	return Clean(tag), nil
}

// LeftoversOf lists what runs started by harness process pid still have
// on the machine: live processes marked with their run tags, and their
// nftables tables. Tests of the cleanup use it.
func LeftoversOf(pid int) (pids []int, tables []string, err error) {
	for p, t := range runProcesses() {
		if t.pid == pid {
			pids = append(pids, p)
		}
	}
	sort.Ints(pids)
	names, err := splitbrainTables()
	for _, name := range names {
		if t, ok := parseRunTag(strings.TrimPrefix(name, TablePrefix)); ok && t.pid == pid {
			tables = append(tables, name)
		}
	}
	return pids, tables, err
}
