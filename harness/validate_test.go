package harness

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/splitbrain/splitbrain/nemesis"
	"github.com/splitbrain/splitbrain/workloads"
)

// TestValidateRefusesWhatCannotRun: values that used to panic, hang, run
// out of memory or be silently ignored are usage errors naming the value,
// and nothing is created.
func TestValidateRefusesWhatCannotRun(t *testing.T) {
	sched := func(text string) *nemesis.Schedule {
		s, err := nemesis.ParseString(text, "s.txt")
		if err != nil {
			t.Fatal(err)
		}
		return &s
	}
	for _, c := range []struct {
		name string
		t    Test
		want string
	}{
		{"negative liveness bound", Test{LivenessBound: Duration(-time.Second)}, "liveness bound must be positive, got -1s"},
		{"negative check timeout", Test{CheckTimeout: Duration(-time.Second)}, "check timeout must be positive"},
		{"test too long", Test{Duration: Duration(100000 * time.Hour)}, "longer than the longest test"},
		{"too many operations", Test{Duration: Duration(24 * time.Hour)}, "plans"},
		{"too many clients", Test{Workload: workloadClients(1 << 30)}, "clients 1073741824: at most"},
		{"scenario and schedule", Test{Scenario: "x.lua", Schedule: sched("1.0s kill one\n")}, "a scenario and a schedule"},
		{"node that cannot exist", Test{Schedule: sched("1.0s kill n9\n"), ScheduleFile: "s.txt"}, "schedule s.txt: event 1: no such node"},
		{"event after the end", Test{Duration: Duration(5 * time.Second), LivenessBound: Duration(2 * time.Second), Schedule: sched("1.0s kill one\n20.0s restart one\n")}, "event 2: event after the end of the test"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			c.t.Results = filepath.Join(dir, "results")
			_, err := Run(context.Background(), c.t)
			if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want ErrUsage containing %q", err, c.want)
			}
			if _, err := os.Stat(c.t.Results); err == nil {
				t.Fatalf("a refused test created %s", c.t.Results)
			}
		})
	}
}

func workloadClients(n int) (o workloads.RegisterOptions) { o.Clients = n; return o }

// FuzzTestValidate: no test.json makes Defaults and Validate panic, every
// refusal is ErrUsage, and a Test that validates can draw its schedule.
func FuzzTestValidate(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"nodes":0,"time":"0s"}`, `{"liveness_bound":"-1s"}`, `{"time":"100000h"}`,
		`{"time":"2ns","liveness_bound":"1ns"}`, `{"workload":{"rate":1e308}}`, `{"workload":{"clients":-5,"keys":1e9}}`,
		`{"check_timeout":"-1ns"}`, `{"nemesis":["all"]}`, `{"nemesis":["partition:halves","meteor"]}`,
		`{"mode":"process","nodes":100}`, `{"name":"../x"}`, `{"bugs":["nope"]}`, `{"time":1}`,
		`{"workload":{"mix":{"read":-1}}}`, `{"workload":{"timeout_ns":-1}}`, `{"skip_invariants":["x"]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var tt Test
		if json.Unmarshal(b, &tt) != nil {
			return
		}
		tt.Defaults()
		if err := tt.Validate(); err != nil {
			if !errors.Is(err, ErrUsage) {
				t.Fatalf("%s: %v is not ErrUsage", b, err)
			}
			return
		}
		heal := tt.FinalHeal()
		if heal <= 0 || heal > time.Duration(tt.Duration) {
			t.Fatalf("%s: final heal %v outside the %v test", b, heal, time.Duration(tt.Duration))
		}
		if tt.PlannedOps() > MaxOps {
			t.Fatalf("%s: validated with %v planned operations", b, tt.PlannedOps())
		}
		if time.Duration(tt.Duration) <= time.Hour {
			nemesis.Generate(tt.Seed, nemesis.GenOptions{Duration: time.Duration(tt.Duration), FinalHeal: heal, Kinds: tt.Nemesis, Nodes: tt.Nodes})
		}
	})
}
