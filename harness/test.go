package harness

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/splitbrain/splitbrain/harness/raftkv"
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
// its default.
type Test struct {
	Name     string   `json:"name"`  // default "register"
	Mode     string   `json:"mode"`  // "sim" (default) or "process"
	Seed     uint64   `json:"seed"`  // 0 picks one at random (and records it)
	Nodes    int      `json:"nodes"` // default 5
	Duration Duration `json:"time"`  // default 60s

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

	// Bugs enables known-bug canaries in the reference node.
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
	// CheckTimeout bounds the linearizability check (0: none); on timeout
	// the verdict is unknown.
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
	// Command is how this test was started, for the record.
	Command string `json:"command,omitempty"`
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
	if t.Nodes < 1 || t.Nodes > 99 {
		return usagef("nodes must be between 1 and 99, got %d", t.Nodes)
	}
	if t.Duration <= 0 {
		return usagef("time must be positive, got %v", time.Duration(t.Duration))
	}
	if err := t.Workload.Validate(); err != nil {
		return usagef("%v", err)
	}
	for _, n := range t.Nemesis {
		if err := nemesis.ValidKind(n); err != nil {
			return usagef("--nemesis: %v", err)
		}
	}
	if _, err := raftkv.ParseBugs(strings.Join(t.Bugs, ",")); err != nil {
		return usagef("%v", err)
	}
	for _, n := range t.SkipInvariants {
		if err := sim.ValidInvariant(n); err != nil {
			return usagef("%v", err)
		}
	}
	if time.Duration(t.LivenessBound) >= time.Duration(t.Duration) {
		return usagef("liveness bound %v must be shorter than the test (%v)", time.Duration(t.LivenessBound), time.Duration(t.Duration))
	}
	return nil
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
// that differs from its default, the seed, and the schedule (the copy in
// the results directory) when it was not generated from the seed.
func (t *Test) ReproCommand(scheduleCopy string) string {
	def := Test{}
	def.Defaults()
	args := []string{"splitbrain", "run"}
	add := func(flag string, v, dv any) {
		if fmt.Sprint(v) != fmt.Sprint(dv) {
			args = append(args, flag, shellQuote(fmt.Sprint(v)))
		}
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
