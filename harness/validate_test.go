package harness

import (
	"context"
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
