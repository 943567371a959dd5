package main

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/splitbrain/splitbrain/harness"
	"github.com/splitbrain/splitbrain/harness/sim"
	"github.com/splitbrain/splitbrain/nemesis"
	"github.com/splitbrain/splitbrain/workloads"
)

// notReplayed are the fields of harness.Test that ReproCommand leaves out,
// each with why: none of them changes what runs or its verdict. Every
// other field (of Test and of its Workload) must survive the round trip
// of TestReproCommandRoundTrips, so a field added to Test fails that test
// until the repro line carries it or it is listed here.
var notReplayed = map[string]string{
	"Schedule":           "replayed from the run directory's copy (--schedule), compared apart",
	"ScheduleFile":       "where the schedule came from, for the record",
	"Results":            "where the run lands, not what it is",
	"Binary":             "the splitbrain executable itself",
	"Quick":              "skips plots and diagrams; the verdict is the same",
	"Command":            "how the run was started, for the record",
	"Progress":           "a live status line; never changes the run",
	"SystemImpl":         "a Go value no command line can carry: a raftnode.System is replayed by RunTest's Replay (`go test`); a proc.System by its name in System",
	"Replay":             "the repro command itself, where `splitbrain run` cannot replay the test",
	"ArtefactsOnFailure": "draws plots and timeline only for a run that does not pass; the verdict is the same",
}

// splitShell splits a command line as a POSIX shell would split what
// shellQuote writes: words separated by spaces, single quotes, and
// backslash escapes outside them.
func splitShell(t *testing.T, line string) []string {
	t.Helper()
	var words []string
	var cur strings.Builder
	inWord, quoted := false, false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quoted && c == '\'':
			quoted = false
		case quoted:
			cur.WriteByte(c)
		case c == '\'':
			quoted, inWord = true, true
		case c == '\\' && i+1 < len(line):
			i++
			cur.WriteByte(line[i])
			inWord = true
		case c == ' ':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if quoted {
		t.Fatalf("unbalanced quote in %q", line)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

// TestReproCommandRoundTrips: the repro line of a Test whose every field
// differs from its default, parsed back through run's own flags, gives the
// same Test, for each way of driving the faults (generated from --nemesis,
// a schedule file, a scenario). A field that changes the run or its
// verdict and is missing from the repro line fails it.
func TestReproCommandRoundTrips(t *testing.T) {
	dir := t.TempDir()
	sched, err := nemesis.ParseString("1.0s kill one\n4.0s restart one\n6.0s partition halves\n9.0s heal\n", "schedule")
	if err != nil {
		t.Fatal(err)
	}
	schedFile := filepath.Join(dir, "schedule with space.txt")
	if err := os.WriteFile(schedFile, []byte(sched.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	scenario := filepath.Join(dir, "it's.lua")
	if err := os.WriteFile(scenario, []byte("sleep(1)\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	full := func() harness.Test {
		return harness.Test{
			Name: "round-trip", Mode: "process", NoNetFaults: true, Seed: 42, Nodes: 7,
			System: "etcd@debian", ReadConsistency: "serializable", ConvergeBound: harness.Duration(12 * time.Second),
			Duration: harness.Duration(45 * time.Second),
			Workload: workloads.RegisterOptions{Clients: 3, Rate: 50.5, Keys: 4, OpsPerKey: 17,
				Mix: workloads.Mix{Read: 10, Write: 20, CAS: 30, Delete: 40}, Timeout: 2500 * time.Millisecond},
			Nemesis:        []string{"partition", "pause"},
			Bugs:           []string{"ack-on-propose", "local-reads"},
			SkipInvariants: []string{sim.PersistBeforeSend, sim.DurableCommitted},
			SnapshotEvery:  33, CompactKeep: 7,
			LivenessBound: harness.Duration(7 * time.Second),
			CheckTimeout:  harness.Duration(90 * time.Second),
			Scenario:      "", // set per case
		}
	}
	cases := []struct {
		name string
		edit func(*harness.Test)
		copy string // the schedule copy ReproCommand is given
	}{
		{"nemesis", func(*harness.Test) {}, ""},
		{"schedule", func(tt *harness.Test) { tt.Nemesis, tt.Schedule, tt.ScheduleFile = nil, &sched, schedFile }, schedFile},
		{"scenario", func(tt *harness.Test) { tt.Nemesis, tt.Scenario = nil, scenario }, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := full()
			c.edit(&want)
			def := harness.Test{}
			def.Defaults()
			line := want.ReproCommand(c.copy)
			words := splitShell(t, line)
			if len(words) < 2 || words[0] != "splitbrain" || words[1] != "run" {
				t.Fatalf("repro %q does not start with splitbrain run", line)
			}
			got, err := testFromArgs(append(words[2:], "--results", filepath.Join(dir, "results")))
			if err != nil {
				t.Fatalf("repro %q does not parse back: %v", line, err)
			}
			want.Defaults()
			compareFields(t, line, reflect.ValueOf(want), reflect.ValueOf(got), reflect.ValueOf(def), "")
			if (want.Schedule == nil) != (got.Schedule == nil) || want.Schedule != nil && want.Schedule.String() != got.Schedule.String() {
				t.Errorf("repro %q: schedule %v, want %v", line, got.Schedule, want.Schedule)
			}
		})
	}
}

// compareFields compares every field of want and got (structs) but those
// notReplayed, descending into the workload; in the nemesis case (the
// first, with every field set) it also demands that want differs from the
// default, so that the round trip tests something.
func compareFields(t *testing.T, line string, want, got, def reflect.Value, prefix string) {
	t.Helper()
	for i := 0; i < want.NumField(); i++ {
		f := want.Type().Field(i)
		name := prefix + f.Name
		if _, skip := notReplayed[name]; skip || !f.IsExported() {
			continue // unexported: how a Go caller replays, never a flag
		}
		w, g, d := want.Field(i), got.Field(i), def.Field(i)
		if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeOf(workloads.Mix{}) {
			compareFields(t, line, w, g, d, name+".")
			continue
		}
		if !reflect.DeepEqual(w.Interface(), g.Interface()) {
			t.Errorf("%s: %v after the round trip of %q, want %v", name, g.Interface(), line, w.Interface())
		}
		if reflect.DeepEqual(w.Interface(), d.Interface()) && !emptyByCase(name, want) {
			t.Errorf("%s: the test leaves it at its default (%v), so the round trip proves nothing: give it another value here, "+
				"and make ReproCommand carry it (or list it in notReplayed, with why)", name, fmtValue(w))
		}
	}
}

// emptyByCase reports a field that a case leaves empty on purpose: the
// fault drivers other than the case's own.
func emptyByCase(name string, want reflect.Value) bool {
	tt := want.Interface()
	if x, ok := tt.(harness.Test); ok {
		switch name {
		case "Nemesis":
			return x.Schedule != nil || x.Scenario != ""
		case "Scenario":
			return x.Scenario == "" && (x.Schedule != nil || len(x.Nemesis) > 0)
		}
	}
	return false
}

func fmtValue(v reflect.Value) string { return fmt.Sprintf("%v", v.Interface()) }
