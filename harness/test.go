package harness

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/splitbrain/splitbrain/harness/proc"
	"github.com/splitbrain/splitbrain/harness/raftkv"
	"github.com/splitbrain/splitbrain/harness/raftnode"
	"github.com/splitbrain/splitbrain/harness/sim"
	"github.com/splitbrain/splitbrain/nemesis"
	"github.com/splitbrain/splitbrain/workloads"
)

// Duration is a time.Duration that reads and writes JSON as text ("30s").
type Duration time.Duration

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads "30s" (or a number of nanoseconds).
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n int64
		if err2 := json.Unmarshal(b, &n); err2 != nil {
			return fmt.Errorf("duration must be a string like \"30s\": %w", err)
		}
		*d = Duration(n)
		return nil
	}
	v, err := time.ParseDuration(s)
	*d = Duration(v)
	return err
}

// Test says what to run: a workload against a cluster in a world, under a
// fault schedule, checked at the end. The zero value of each field means
// its default (the command line, which can tell a flag left out from one
// given as 0, refuses an explicit 0 instead). Validate bounds what one run
// may ask for: see MaxDuration and MaxOps.
type Test struct {
	Name     string   `json:"name"`  // default "register"
	Mode     string   `json:"mode"`  // "sim" (default; "process" for a system other than the reference node) or "process"
	Seed     uint64   `json:"seed"`  // 0 picks one at random (and records it)
	Nodes    int      `json:"nodes"` // default 5
	Duration Duration `json:"time"`  // default 60s

	// System names the system under test: "" or "raftkv" (the reference
	// node, the default), "etcd" (the newest release, built from its Go
	// module), "etcd@v3.5.0", "etcd@debian" (Debian's etcd-server), or the
	// path of a system file (any binary speaking the KV protocol; see
	// proc.LoadSystemFile): these run in the process world. With
	// SystemImpl set it only names that system in the record (empty:
	// SystemImpl's name).
	System string `json:"system,omitempty"`
	// SystemImpl, if set, is the system under test as a Go value, for
	// callers of the Go API. A raftnode.System is a node of your own,
	// written to the contract in package harness/raftnode: in the sim, and
	// in the process world in node processes started from Binary, which
	// must serve it (see node.ServeIfNode). A proc.System is any system the
	// process world can launch (what System names resolve to).
	SystemImpl any `json:"-"`
	// ReadConsistency is "linearizable" (default) or a weaker consistency
	// the system offers (etcd: "serializable", as Jepsen's etcd test has):
	// reads are then issued that way, and the checker judges them as
	// linearizable all the same, so stale reads show up as anomalies.
	ReadConsistency string `json:"read_consistency,omitempty"`

	Workload workloads.RegisterOptions `json:"workload"`

	// Nemesis lists the fault families the schedule generator may use;
	// empty means all of them (nemesis.Families). Ignored when Schedule
	// is set.
	Nemesis []string `json:"nemesis"`
	// Schedule, if set, is replayed instead of a generated one.
	Schedule *nemesis.Schedule `json:"-"`
	// ScheduleFile is where Schedule came from, for the record.
	ScheduleFile string `json:"schedule_file,omitempty"`

	// Scenario, if set, is a Lua script that drives the fault timeline
	// instead of a schedule (see package harness/scenario).
	Scenario string `json:"scenario,omitempty"`

	// Bugs enables known-bug canaries in the reference node (only).
	Bugs []string `json:"bugs,omitempty"`
	// SkipInvariants lists sim invariants that are not enforced (see
	// sim.Invariants; sim.MechanismInvariants are the ones that watch a
	// node's mechanism rather than its consequences). Selftest uses it to
	// measure what the consequence checks alone catch.
	SkipInvariants []string `json:"skip_invariants,omitempty"`

	// Node tuning (sim and process): snapshot every N applied entries and
	// keep K entries behind it. Defaults 100 and 20: small, so that
	// followers really catch up by snapshot.
	SnapshotEvery uint64 `json:"snapshot_every"`
	CompactKeep   uint64 `json:"compact_keep"`

	// LivenessBound: after the final heal the cluster must serve an ok
	// read and an ok write within it. Default 10s.
	LivenessBound Duration `json:"liveness_bound"`
	// ConvergeBound: after the clients' last operations every member must
	// report the same state within it (World.Converge). Default 30s.
	ConvergeBound Duration `json:"converge_bound,omitempty"`
	// CheckTimeout bounds the whole check after the run, in wall time (0:
	// none): the linearizability search, the explaining check and the
	// artefacts. Past it the verdict is at best unknown, and says that the
	// check timed out (Results.CheckTimedOut); artefacts not drawn by then
	// are skipped (Results.Skipped).
	CheckTimeout Duration `json:"check_timeout"`

	// Results is the results root (default "results"); runs land in
	// <Results>/<Name>/<UTC timestamp>/.
	Results string `json:"-"`
	// NoNetFaults runs the process world without nftables (and so
	// without root): partitions and packet loss are refused.
	NoNetFaults bool `json:"no_net_faults,omitempty"`
	// Binary is the splitbrain executable the process world starts nodes
	// with (default: this process's own executable).
	Binary string `json:"-"`

	// Quick skips the artefacts meant for people (plots, timeline, the
	// linearizability diagram): for selftest, property tests and campaigns
	// that only want the verdict. The history and results.json are kept.
	Quick bool `json:"quick,omitempty"`
	// ArtefactsOnFailure draws the plots and the timeline only when the
	// verdict is not valid (campaigns: a valid run is a line in the
	// summary, and its artefacts would take a good part of its time).
	// The verdict does not depend on it.
	ArtefactsOnFailure bool `json:"artefacts_on_failure,omitempty"`
	// Command is how this test was started, for the record.
	Command string `json:"command,omitempty"`
	// Replay, if set, is the command that reruns this test where
	// `splitbrain run` cannot: for a node written in Go, RunTest sets it
	// to the `go test` command of the calling test, and ReproCommand
	// prefixes it with $SPLITBRAIN_SEED and (for a schedule not generated
	// from the seed) $SPLITBRAIN_SCHEDULE, which RunTest honours.
	Replay string `json:"replay,omitempty"`
	// replayAsIs: Replay is the whole repro, with no $SPLITBRAIN_SEED or
	// $SPLITBRAIN_SCHEDULE in front (CheckProperty's rapid seed replays
	// what it drew).
	replayAsIs bool
	// Progress, if set, receives a live one-line status while the test
	// runs and is checked: test time against the test's length, the
	// operations ok, failed and unknown so far, the faults in effect. The
	// line is redrawn in place, so Progress should be a terminal (run
	// sets it only when its output is one). It never changes the run.
	Progress io.Writer `json:"-"`
}

// ErrUsage marks a Test (or its flags) that cannot be run as given.
var ErrUsage = errors.New("usage")

func usagef(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUsage, fmt.Sprintf(format, args...))
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// Defaults fills in zero fields.
func (t *Test) Defaults() {
	if t.Name == "" {
		t.Name = "register"
	}
	if t.Mode == "" {
		t.Mode = "sim"
		if t.processSystem() {
			t.Mode = "process"
		}
	}
	if t.System == "" && t.SystemImpl != nil {
		if n, ok := t.SystemImpl.(proc.System); ok {
			t.System = n.Name()
		}
	}
	if t.ConvergeBound == 0 {
		t.ConvergeBound = Duration(30 * time.Second)
	}
	if t.System == "" {
		if s, ok := t.SystemImpl.(raftnode.System); ok {
			t.System = s.Name
		}
	}
	if t.Nodes == 0 {
		t.Nodes = 5
	}
	if t.Duration == 0 {
		t.Duration = Duration(60 * time.Second)
	}
	t.Workload.Defaults()
	if len(t.Nemesis) == 0 && t.Schedule == nil && t.Scenario == "" {
		t.Nemesis = nemesis.Families()
	}
	if t.SnapshotEvery == 0 {
		t.SnapshotEvery = 100
	}
	if t.CompactKeep == 0 {
		t.CompactKeep = 20
	}
	if t.LivenessBound == 0 {
		t.LivenessBound = Duration(10 * time.Second)
	}
	if t.Results == "" {
		t.Results = "results"
	}
}

// Validate reports what cannot run, as ErrUsage errors.
func (t *Test) Validate() error {
	if !nameRE.MatchString(t.Name) {
		return usagef("test name %q: use letters, digits, '.', '_' and '-'", t.Name)
	}
	if t.Mode != "sim" && t.Mode != "process" {
		return usagef("mode %q: want sim or process", t.Mode)
	}
	if t.Mode == "sim" && t.processSystem() {
		return usagef("system %q runs in the process world only (--mode process)", t.System)
	}
	switch t.ReadConsistency {
	case "", "linearizable", "serializable":
	default:
		return usagef("read consistency %q: want linearizable or serializable", t.ReadConsistency)
	}
	if t.ReadConsistency == "serializable" && !t.processSystem() {
		return usagef("read consistency serializable: the reference node offers only linearizable reads (etcd offers serializable: --system etcd)")
	}
	if t.ConvergeBound < 0 {
		return usagef("converge bound must not be negative, got %v", time.Duration(t.ConvergeBound))
	}
	if t.Nodes < 1 || t.Nodes > 99 {
		return usagef("nodes must be between 1 and 99, got %d", t.Nodes)
	}
	if t.Duration <= 0 {
		return usagef("time must be positive, got %v", time.Duration(t.Duration))
	}
	if err := t.Workload.Validate(); err != nil {
		return usagef("%v", err)
	}
	if err := t.validateLimits(); err != nil {
		return err
	}
	for _, n := range t.Nemesis {
		if err := nemesis.ValidKind(n); err != nil {
			return usagef("--nemesis: %v", err)
		}
	}
	if _, err := raftkv.ParseBugs(strings.Join(t.Bugs, ",")); err != nil {
		return usagef("%v", err)
	}
	if err := t.validateSystem(); err != nil {
		return err
	}
	for _, n := range t.SkipInvariants {
		if err := sim.ValidInvariant(n); err != nil {
			return usagef("%v", err)
		}
	}
	if t.LivenessBound <= 0 {
		return usagef("liveness bound must be positive, got %v", time.Duration(t.LivenessBound))
	}
	if time.Duration(t.LivenessBound) >= time.Duration(t.Duration) {
		return usagef("liveness bound %v must be shorter than the test (%v)", time.Duration(t.LivenessBound), time.Duration(t.Duration))
	}
	if t.CheckTimeout < 0 {
		return usagef("check timeout must be positive (or 0 for none), got %v", time.Duration(t.CheckTimeout))
	}
	if t.Scenario != "" && t.Schedule != nil {
		return usagef("a scenario and a schedule both drive the faults: give one of them")
	}
	if t.Schedule != nil {
		if err := t.Schedule.CheckCluster(nemesis.Cluster{Nodes: t.Nodes, End: time.Duration(t.Duration)}); err != nil {
			if t.ScheduleFile != "" {
				return usagef("schedule %s: %v", t.ScheduleFile, err)
			}
			return usagef("schedule: %v", err)
		}
	}
	return nil
}

// Limits of a Test: what one run may ask for. A run's memory does not
// grow with its history (the recorder writes it to disk as it goes, and
// the check reads it back in passes), but its disk does — about 250 bytes
// an operation, more with the timeline — so the planned operations are
// bounded up front rather than discovered by a full disk.
const (
	// MaxDuration is the longest test (virtual time in the sim).
	MaxDuration = 24 * time.Hour
	// MaxOps bounds the operations a test plans: the rate times the time
	// the clients run (the test, plus the liveness bound and a second
	// after the final heal).
	MaxOps = 10_000_000
	// MaxClients and MaxKeys bound the workload's concurrency and key set.
	MaxClients = 1000
	MaxKeys    = 100_000
	// MinRate is the slowest workload rate, in operations per second.
	MinRate = 0.001
)

// PlannedOps is how many operations t's workload would issue: the rate
// times the time the clients run (see MaxOps).
func (t *Test) PlannedOps() float64 {
	run := time.Duration(t.Duration) + time.Duration(t.LivenessBound) + time.Second
	return t.Workload.Rate * run.Seconds()
}

// validateLimits reports a Test that asks for more than one run may have.
func (t *Test) validateLimits() error {
	switch {
	case time.Duration(t.Duration) > MaxDuration:
		return usagef("time %v is longer than the longest test, %v", time.Duration(t.Duration), MaxDuration)
	case t.Workload.Clients > MaxClients:
		return usagef("clients %d: at most %d", t.Workload.Clients, MaxClients)
	case t.Workload.Keys > MaxKeys:
		return usagef("keys %d: at most %d", t.Workload.Keys, MaxKeys)
	case math.IsNaN(t.Workload.Rate) || t.Workload.Rate < MinRate:
		return usagef("rate %v: want at least %v operations per second", t.Workload.Rate, MinRate)
	}
	if n := t.PlannedOps(); n > MaxOps {
		return usagef("rate %g ops/s for %v plans %.0f operations, more than the %d one run may record: lower --rate or --time",
			t.Workload.Rate, time.Duration(t.Duration), n, MaxOps)
	}
	return nil
}

// referenceSystem reports whether t tests the reference node.
func (t *Test) referenceSystem() bool {
	return t.SystemImpl == nil && (t.System == "" || t.System == "raftkv")
}

// processSystem reports whether t's system runs in the process world
// only: a system named (etcd, a system file) or given as a proc.System.
func (t *Test) processSystem() bool {
	if t.SystemImpl != nil {
		_, ok := t.SystemImpl.(proc.System)
		return ok
	}
	return !t.referenceSystem()
}

// validateSystem checks the system under test: the reference node or a
// process-world system by name (resolved by Run), a proc.System, or a node
// of the user's own as a raftnode.System.
func (t *Test) validateSystem() error {
	if t.SystemImpl == nil {
		return nil
	}
	if _, ok := t.SystemImpl.(proc.System); ok {
		if len(t.Bugs) > 0 {
			return usagef("bugs %s: canaries belong to the reference node", strings.Join(t.Bugs, ","))
		}
		return nil
	}
	s, ok := t.SystemImpl.(raftnode.System)
	if !ok {
		return usagef("SystemImpl %T: want a raftnode.System or a proc.System", t.SystemImpl)
	}
	if err := s.Validate(); err != nil {
		return usagef("%v", err)
	}
	if len(t.Bugs) > 0 {
		return usagef("bugs %s: canaries belong to the reference node, not to %s", strings.Join(t.Bugs, ","), s.Name)
	}
	return nil
}

// nodeSystem is the node the test runs: the reference node with the
// test's canaries, or the user's raftnode.System.
func (t *Test) nodeSystem(bugs raftkv.Bugs) raftnode.System {
	if s, ok := t.SystemImpl.(raftnode.System); ok {
		return s
	}
	return raftkv.System(bugs)
}

// FinalHeal is when the generated schedule heals everything: early enough
// that the liveness bound fits before the end, with 3s to spare (the
// heal's own restarts and replacements, and the first election after
// it); never before half the test.
func (t *Test) FinalHeal() time.Duration {
	d := time.Duration(t.Duration)
	return d - min(d/2, time.Duration(t.LivenessBound)+3*time.Second)
}

// ReproCommand is the one line that replays this test: every parameter
// that differs from its default and changes the run or its verdict (the
// check's time bound included), the seed, and the schedule (the copy in
// the results directory) when it was not generated from the seed.
// cmd/splitbrain's TestReproCommandRoundTrips parses it back through
// run's flags and compares every field.
func (t *Test) ReproCommand(scheduleCopy string) string {
	if t.Replay != "" && t.replayAsIs {
		return t.Replay
	}
	if t.Replay != "" {
		env := fmt.Sprintf("%s=%d ", EnvSeed, t.Seed)
		if t.Schedule != nil && t.Scenario == "" && scheduleCopy != "" {
			env += EnvSchedule + "=" + shellQuote(scheduleCopy) + " "
		}
		return env + t.Replay
	}
	def := Test{}
	def.Defaults()
	args := []string{"splitbrain", "run"}
	add := func(flag string, v, dv any) {
		if fmt.Sprint(v) != fmt.Sprint(dv) {
			args = append(args, flag, shellQuote(fmt.Sprint(v)))
		}
	}
	if t.System != "" && t.System != "raftkv" {
		args = append(args, "--system", shellQuote(t.System))
		def.Mode = "process"
	}
	add("--mode", t.Mode, def.Mode)
	if t.NoNetFaults {
		args = append(args, "--no-net-faults")
	}
	add("--name", t.Name, def.Name)
	args = append(args, "--seed", fmt.Sprint(t.Seed), "--time", time.Duration(t.Duration).String())
	add("--nodes", t.Nodes, def.Nodes)
	add("--clients", t.Workload.Clients, def.Workload.Clients)
	add("--rate", t.Workload.Rate, def.Workload.Rate)
	add("--keys", t.Workload.Keys, def.Workload.Keys)
	add("--ops-per-key", t.Workload.OpsPerKey, def.Workload.OpsPerKey)
	add("--mix", t.Workload.Mix, def.Workload.Mix)
	add("--op-timeout", t.Workload.Timeout, def.Workload.Timeout)
	add("--snapshot-every", t.SnapshotEvery, def.SnapshotEvery)
	add("--compact-keep", t.CompactKeep, def.CompactKeep)
	add("--liveness-bound", time.Duration(t.LivenessBound), time.Duration(def.LivenessBound))
	add("--check-timeout", time.Duration(t.CheckTimeout), time.Duration(def.CheckTimeout))
	if t.ConvergeBound != 0 {
		add("--converge-bound", time.Duration(t.ConvergeBound), time.Duration(def.ConvergeBound))
	}
	if t.ReadConsistency != "" && t.ReadConsistency != "linearizable" {
		args = append(args, "--read-consistency", shellQuote(t.ReadConsistency))
	}
	if t.Scenario != "" {
		args = append(args, "--scenario", shellQuote(t.Scenario))
	} else if t.Schedule != nil && scheduleCopy != "" {
		args = append(args, "--schedule", shellQuote(scheduleCopy))
	} else {
		add("--nemesis", strings.Join(t.Nemesis, ","), strings.Join(def.Nemesis, ","))
	}
	for _, n := range t.SkipInvariants {
		args = append(args, "--skip-invariant", n)
	}
	bugs := append([]string(nil), t.Bugs...)
	sort.Strings(bugs)
	for _, b := range bugs {
		args = append(args, "--bug", b)
	}
	return strings.Join(args, " ")
}

func shellQuote(s string) string {
	if regexp.MustCompile(`^[A-Za-z0-9_./:=,@%+-]+$`).MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
