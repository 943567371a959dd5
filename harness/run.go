package harness

import (
	"context"
	cryptorand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/splitbrain/splitbrain/harness/history"
	"github.com/splitbrain/splitbrain/harness/proc"
	"github.com/splitbrain/splitbrain/harness/proc/etcd"
	"github.com/splitbrain/splitbrain/harness/raftkv"
	"github.com/splitbrain/splitbrain/harness/raftnode"
	"github.com/splitbrain/splitbrain/harness/sim"
	"github.com/splitbrain/splitbrain/harness/world"
	"github.com/splitbrain/splitbrain/model"
	"github.com/splitbrain/splitbrain/nemesis"
	"github.com/splitbrain/splitbrain/workloads"
)

// World is the world a test runs in; see package world.
type World = world.World

// tickPeriod is the nodes' raft tick (ElectionTick 10: elections after
// 1–2 s of silence, as etcd's defaults).
const tickPeriod = 100 * time.Millisecond

// Outcome is what Run hands back: where the run landed and its verdict.
type Outcome struct {
	Dir     string
	Results *Results
	Test    Test
}

// Run runs t: it builds the world, runs the workload under the fault
// schedule, records the history as it goes, checks it, and writes the run
// directory. The error is for runs that could not happen (bad Test: it
// wraps ErrUsage; setup failures); a run that happened returns its
// verdict in Outcome even if the world failed half-way (Results.Error).
// Cancelling ctx stops the run early; what was recorded is still checked.
func Run(ctx context.Context, t Test) (*Outcome, error) {
	if tag := os.Getenv(proc.RunEnv); tag != "" {
		// A test binary started as a node that runs its tests instead
		// would start nodes of its own, and so on.
		return nil, fmt.Errorf("this process is a node of the process-world run %s (%s is set), yet it runs a test: a test binary that serves nodes must call node.ServeIfNode first in its TestMain", tag, proc.RunEnv)
	}
	t.Defaults()
	if err := t.Validate(); err != nil {
		return nil, err
	}
	if t.Scenario != "" {
		if RunScenario == nil {
			return nil, usagef("scenarios are not available in this build")
		}
		if CheckScenario != nil {
			if err := CheckScenario(t.Scenario); err != nil {
				return nil, fmt.Errorf("%w: %w", ErrUsage, err)
			}
		}
	}
	if t.Seed == 0 {
		var b [8]byte
		cryptorand.Read(b[:])
		t.Seed = binary.LittleEndian.Uint64(b[:])>>1 | 1
	}
	bugs, _ := raftkv.ParseBugs(strings.Join(t.Bugs, ","))
	system, err := resolveSystem(ctx, &t)
	if err != nil {
		return nil, err
	}
	systemVersion := ""
	if system != nil {
		systemVersion = system.Version()
	}
	sched := t.Schedule
	if t.Scenario != "" {
		sched = &nemesis.Schedule{}
	} else if sched == nil {
		s := nemesis.Generate(t.Seed, nemesis.GenOptions{
			Duration: time.Duration(t.Duration), FinalHeal: t.FinalHeal(), Kinds: t.Nemesis, Nodes: t.Nodes,
			Refuses: refusals(&t, system)})
		sched = &s
	}

	started := time.Now()
	dir, err := newRunDir(t.Results, t.Name, started)
	if err != nil {
		return nil, fmt.Errorf("results directory: %w", err)
	}
	schedPath := filepath.Join(dir, ScheduleFile)
	if err := writeFileSync(schedPath, []byte(sched.String())); err != nil {
		return nil, err
	}
	absSched, _ := filepath.Abs(schedPath)
	repro := t.ReproCommand(absSched)
	if err := writeJSON(filepath.Join(dir, TestFile), testRecord{Test: t, SystemVersion: systemVersion, Schedule: sched.String(), Versions: versions(), Repro: repro}); err != nil {
		return nil, err
	}
	if err := writeFileSync(filepath.Join(dir, ReproFile), []byte(repro+"\n")); err != nil {
		return nil, err
	}
	if err := pointLatest(t.Results, dir); err != nil {
		return nil, fmt.Errorf("results/latest: %w", err)
	}

	phases := &Phases{}
	phase := time.Now()
	lap := func(d *float64) {
		now := time.Now()
		*d += now.Sub(phase).Seconds()
		phase = now
	}
	w, err := newWorld(&t, bugs, dir, system)
	if err != nil {
		return nil, err
	}
	lap(&phases.World)
	rec, err := history.NewRecorder(filepath.Join(dir, HistoryFile), func() int64 { return int64(w.Now()) })
	if err != nil {
		w.Close()
		return nil, err
	}
	var recorder interface {
		Record(history.Event) history.Event
	} = rec
	var prog *progress
	if t.Progress != nil {
		prog = newProgress(t.Progress, rec, time.Duration(t.Duration))
		recorder = prog
	}
	var stopped atomic.Bool
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			stopped.Store(true)
		case <-done:
		}
	}()
	var scriptErr error
	var conv world.Convergence
	runErr := w.Run(func() {
		scriptErr = drive(w, &t, *sched, recorder, stopped.Load)
		if !stopped.Load() {
			conv = w.Converge(time.Duration(t.ConvergeBound))
		} else {
			conv = world.Convergence{Detail: "not checked: the run was stopped early"}
		}
	})
	close(done)
	lap(&phases.Test)
	if err := w.WriteLogs(filepath.Join(dir, LogsDir)); err != nil && runErr == nil {
		runErr = fmt.Errorf("writing node logs: %w", err)
	}
	checks := w.Checks()
	var limits map[string]string
	if l, ok := w.(interface{ Limits() map[string]string }); ok {
		limits = l.Limits()
	}
	closeErr := w.Close()
	if err := rec.Close(); err != nil && runErr == nil {
		runErr = fmt.Errorf("history: %w", err)
	}
	if closeErr != nil && runErr == nil {
		runErr = closeErr
	}

	lap(&phases.Write)
	if prog != nil {
		prog.check(int(rec.Len()))
	}
	ao := analyzeOptions{
		initial: nil, liveness: time.Duration(t.LivenessBound), timeout: time.Duration(t.CheckTimeout),
		checks: checks, limits: limits, runErr: runErr, mode: t.Mode, nodes: t.Nodes, quick: t.Quick,
		onFailure: t.ArtefactsOnFailure, phases: phases, convergence: &conv,
	}
	res, nemesisEvents := analyzeRun(ctx, dir, ao)
	if t.System != "raftkv" {
		res.System = t.System
	}
	res.SystemVersion, res.ReadConsistency = systemVersion, t.ReadConsistency
	if prog != nil {
		prog.close()
	}
	res.Name, res.Mode, res.Seed, res.Nodes, res.Bugs = t.Name, t.Mode, t.Seed, t.Nodes, t.Bugs
	res.Started, res.Finished = started.UTC(), time.Now().UTC()
	res.WallSeconds = res.Finished.Sub(res.Started).Seconds()
	res.Repro = repro
	res.Schedule = ScheduleFile
	res.FaultKinds = sched.Kinds()
	if t.Scenario != "" {
		res.FaultKinds = recordedFamilies(nemesisEvents)
	}
	if stopped.Load() {
		res.Incomplete = fmt.Sprintf("interrupted after %s of the %v test: only an anomaly in what was recorded would stand",
			secondsText(res.TestSeconds), time.Duration(t.Duration))
	}
	if scriptErr != nil {
		res.Error = joinErr(res.Error, "scenario: "+scriptErr.Error())
		res.ScriptError = scriptErr.Error()
		if res.Valid == model.Valid {
			res.Valid = model.Unknown
		}
	}
	res.capVerdict()
	phase = time.Now()
	res.Phases = phases
	if err := writeJSON(filepath.Join(dir, ResultsFile), res); err != nil {
		return nil, err
	}
	lap(&phases.Write) // recorded in the Outcome; results.json has the rest
	return &Outcome{Dir: dir, Results: res, Test: t}, nil
}

// secondsText prints a test time in seconds: "25.3s".
func secondsText(s float64) string { return fmt.Sprintf("%.1fs", s) }

func joinErr(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

type testRecord struct {
	Test
	// SystemVersion is what the system under test says of its version
	// (etcd: its version string and binary), where known.
	SystemVersion string            `json:"system_version,omitempty"`
	Schedule      string            `json:"schedule"`
	Versions      map[string]string `json:"versions"`
	Repro         string            `json:"repro"`
}

// ScenarioRunner runs a scenario script as the fault timeline, from the
// calling task, until it ends or stop() is true. It returns the script's
// error (naming file and line). The Lua package installs it (see package
// harness/scenario); a nil runner means scenarios are not available.
type ScenarioRunner func(w world.World, path string, seed uint64, rec nemesis.Recorder, ctl ScenarioControls, stop func() bool) error

// ScenarioControls are the workload knobs a scenario may turn.
type ScenarioControls struct {
	SetRate func(opsPerSecond float64)
}

// RunScenario is the installed scenario runner; CheckScenario compiles a
// script without running it, so that a syntax error is a usage error
// before anything starts.
var (
	RunScenario   ScenarioRunner
	CheckScenario func(path string) error
)

// drive is the main task: the workload and the nemesis (a schedule or a
// scenario) run side by side until the test time is up; then every fault
// is healed and the clients finish their last operations. A scenario
// error stops the fault timeline, heals the cluster, ends the test and
// is returned; the history is checked all the same.
func drive(w world.World, t *Test, sched nemesis.Schedule, rec nemesis.Recorder, stopped func() bool) (scriptErr error) {
	end := time.Duration(t.Duration)
	wl, err := workloads.NewRegister(w, rec, t.Workload)
	if err != nil {
		panic(err) // validated before
	}
	// Clients run to the end of the test, and at least LivenessBound (plus
	// a second) past the final heal, however late the nemesis got there:
	// blocking faults (waiting for a leader, membership changes) can push
	// it back, and the liveness verdict needs that time to be decided.
	// The nemesis task sets healed while the client tasks read it: in the
	// process world they are goroutines, hence an atomic (-1: not yet).
	var healed atomic.Int64
	healed.Store(-1)
	// A scenario that fails ends the test as soon as the cluster is
	// healed: the error is bad input (exit 2), and the rest of the test
	// time would only delay saying so.
	var scriptFailed atomic.Bool
	clientsDone := func() bool {
		if stopped() || scriptFailed.Load() {
			return true
		}
		now := w.Now()
		h := time.Duration(healed.Load())
		return now >= end && h >= 0 && now >= h+time.Duration(t.LivenessBound)+time.Second
	}
	clients := w.NewGroup()
	wl.Run(clients, clientsDone)
	nem := w.NewGroup()
	nem.Go("nemesis", func() {
		if t.Scenario != "" {
			stop := func() bool { return stopped() || w.Now() >= end }
			scriptErr = RunScenario(w, t.Scenario, t.Seed, rec, ScenarioControls{SetRate: wl.SetRate}, stop)
			if scriptErr != nil {
				rec.Record(history.Event{Type: history.Info, Process: history.Nemesis, F: history.FaultScriptError, Value: history.Str(scriptErr.Error())})
			}
		} else {
			nemesis.ExecuteUntil(w, sched, rec, stopped)
		}
		nemesis.HealAll(w, rec)
		healed.Store(int64(w.Now()))
		if scriptErr != nil {
			scriptFailed.Store(true)
		}
	})
	nem.Wait()
	clients.Wait()
	return scriptErr
}

// resolveSystem turns t's system into the process world's: nil for the
// reference node (the world's default), etcd by name (building it if
// needed), a system file by path. A bad name or file is a usage error.
func resolveSystem(ctx context.Context, t *Test) (proc.System, error) {
	if _, ok := t.SystemImpl.(raftnode.System); ok {
		return nil, nil // the reference node's launcher, serving the user's node (proc.Config.NodeSystem)
	}
	if t.SystemImpl != nil {
		s, ok := t.SystemImpl.(proc.System)
		if !ok || t.Mode != "process" {
			return nil, usagef("SystemImpl %T: the %s world cannot host it (the process world takes a proc.System)", t.SystemImpl, t.Mode)
		}
		return s, nil
	}
	if t.System == "" || t.System == "raftkv" {
		return nil, nil
	}
	s, err := ResolveSystem(ctx, t.System)
	if err != nil {
		return nil, err
	}
	if t.ReadConsistency != "" && t.ReadConsistency != "linearizable" && !slices.Contains(s.Caps().ReadConsistency, t.ReadConsistency) {
		return nil, usagef("read consistency %s: %s offers only linearizable reads", t.ReadConsistency, s.Name())
	}
	return s, nil
}

// refusals says which generated faults the process world will refuse for
// system (nil: the reference node's launcher, which also serves a
// raftnode.System), so that the generator puts in their place what the
// world can take (nemesis.GenOptions.Refuses). The sim takes every fault.
func refusals(t *Test, system proc.System) func(nemesis.Op) bool {
	if t.Mode != "process" {
		return nil
	}
	if system == nil {
		system = proc.ReferenceSystem()
	}
	caps, noNet := system.Caps(), t.NoNetFaults
	return func(op nemesis.Op) bool {
		switch op.Kind {
		case nemesis.LoseUnsynced, nemesis.TornWrite, nemesis.StallDisk, nemesis.UnstallDisk:
			return true // no filesystem layer (proc.World.Crash, SetDiskStall)
		case nemesis.Skew, nemesis.Strobe, nemesis.ClockReset:
			return !caps.ClockRate
		case nemesis.Partition, nemesis.SnapshotIsolate:
			return noNet
		case nemesis.Packet:
			p := op.Packet
			sender := p.Dup != 0 || p.Reorder != 0 || p.Delay != 0 || p.Jitter != 0
			// A fault confined to a message class needs the sim's
			// network (proc.World.SetPacket).
			return p.Only != world.AllMessages || sender && !caps.SenderPackets || p.Loss != 0 && noNet
		case nemesis.AddNode:
			if op.Learner {
				return !caps.Supports("add-learner")
			}
			return !caps.Supports("add")
		case nemesis.Promote:
			return !caps.Supports("promote")
		case nemesis.RemoveNode:
			return !caps.Supports("remove")
		case nemesis.Replace:
			return !caps.Supports("add") || !caps.Supports("remove")
		}
		return false
	}
}

// ResolveSystem turns a system name into the process world's system:
// "raftkv" (the reference node), etcd by name (built once if needed, with
// a line on stderr), or a system file by path. A name or file at fault is
// an error wrapping ErrUsage.
func ResolveSystem(ctx context.Context, name string) (proc.System, error) {
	var s proc.System
	var err error
	switch {
	case name == "" || name == "raftkv":
		return proc.ReferenceSystem(), nil
	case etcd.IsName(name):
		s, err = etcd.New(ctx, name, os.Stderr)
	case strings.ContainsAny(name, "/\\") || strings.HasSuffix(name, ".toml") || fileExists(name):
		s, err = proc.LoadSystemFile(name)
	default:
		return nil, usagef("system %q: want raftkv, etcd, etcd@vX.Y.Z, etcd@debian, or the path of a system file", name)
	}
	if errors.Is(err, proc.ErrBadSystem) {
		return nil, fmt.Errorf("%w: %w", ErrUsage, err)
	}
	if err != nil {
		return nil, fmt.Errorf("system %s: %w", name, err)
	}
	return s, nil
}

func fileExists(path string) bool {
	st, err := os.Stat(path)
	return err == nil && !st.IsDir()
}

func newWorld(t *Test, bugs raftkv.Bugs, dir string, system proc.System) (world.World, error) {
	node := raftkv.Config{
		SnapshotEvery: t.SnapshotEvery, CompactKeep: t.CompactKeep, Bugs: bugs,
		// Give up a little before the client does, so the client hears why.
		RequestTimeoutTicks: max(10, int(t.Workload.Timeout*4/5/tickPeriod)),
	}
	switch t.Mode {
	case "sim":
		return sim.New(sim.Config{Seed: t.Seed, Nodes: t.Nodes, TickPeriod: tickPeriod, System: t.nodeSystem(bugs),
			Node: raftnode.Config{SnapshotEvery: node.SnapshotEvery, CompactKeep: node.CompactKeep, RequestTimeoutTicks: node.RequestTimeoutTicks},
			Skip: t.SkipInvariants, LogDir: filepath.Join(dir, LogsDir)})
	case "process":
		pc := proc.Config{Seed: t.Seed, Nodes: t.Nodes, TickPeriod: tickPeriod, Node: node, Dir: dir,
			NoNetFaults: t.NoNetFaults, Binary: t.Binary, System: system, ReadConsistency: t.ReadConsistency,
			RequestTimeout: t.Workload.Timeout * 4 / 5}
		if _, ok := t.SystemImpl.(raftnode.System); ok {
			pc.NodeSystem = t.nodeSystem(nil).Name
		}
		w, err := proc.New(pc)
		if err != nil {
			return nil, fmt.Errorf("process world: %w", err)
		}
		return w, nil
	default:
		return nil, usagef("mode %q: want sim or process", t.Mode)
	}
}

// versions records what ran: this binary and the libraries that decide
// verdicts.
func versions() map[string]string {
	v := map[string]string{}
	if bi, ok := debug.ReadBuildInfo(); ok {
		v["go"] = bi.GoVersion
		v["splitbrain"] = bi.Main.Version
		for _, d := range bi.Deps {
			switch d.Path {
			case "go.etcd.io/raft/v3", "github.com/anishathalye/porcupine", "pgregory.net/rapid", "github.com/yuin/gopher-lua":
				v[d.Path] = d.Version
			}
		}
	}
	return v
}

// limitsText lists what the world could not check, sorted by invariant.
func limitsText(limits map[string]string) string {
	names := make([]string, 0, len(limits))
	for n := range limits {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = n + " " + limits[n]
	}
	return strings.Join(parts, "; ")
}

// recordedFamilies names the fault families a history's nemesis events
// belong to, sorted: what a scenario actually did.
func recordedFamilies(events []history.Event) []string {
	seen := map[string]bool{}
	var out []string
	for _, e := range events {
		if f := history.FaultFamily(e.F); f != "" && e.Process == history.Nemesis && !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	sort.Strings(out)
	return out
}
