package scenario

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/splitbrain/splitbrain/harness"
	"github.com/splitbrain/splitbrain/harness/history"
	"github.com/splitbrain/splitbrain/harness/raftkv"
	"github.com/splitbrain/splitbrain/harness/raftnode"
	"github.com/splitbrain/splitbrain/harness/sim"
	"github.com/splitbrain/splitbrain/harness/world"
)

// scriptRun is a script run against a 5-node simulated cluster, without a
// workload, for testing the API function by function.
type scriptRun struct {
	w      *sim.World
	events []history.Event
	out    string // what log and print wrote
	err    error  // the script's error
	runErr error  // the world's
	rates  []float64
}

type runOpts struct {
	seed  uint64
	nodes int
	stop  func(w world.World) bool
}

// runScript writes src to name in a temporary directory and runs it in
// the sim; the error names the file by its base name (the test runs in
// that directory).
func runScript(t *testing.T, name, src string, o runOpts) *scriptRun {
	t.Helper()
	if o.seed == 0 {
		o.seed = 1
	}
	if o.nodes == 0 {
		o.nodes = 5
	}
	dir := t.TempDir()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	w, err := sim.New(sim.Config{Seed: o.seed, Nodes: o.nodes, System: raftkv.System(nil), Node: raftnode.Config{SnapshotEvery: 50, CompactKeep: 10}})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := history.NewRecorder("", func() int64 { return int64(w.Now()) })
	if err != nil {
		t.Fatal(err)
	}
	r := &scriptRun{w: w}
	var buf bytes.Buffer
	old := Output
	Output = &buf
	defer func() { Output = old }()
	stop := func() bool { return false }
	if o.stop != nil {
		stop = func() bool { return o.stop(w) }
	}
	ctl := harness.ScenarioControls{SetRate: func(r2 float64) { r.rates = append(r.rates, r2) }}
	r.runErr = w.Run(func() {
		r.err = Run(w, name, o.seed, rec, ctl, stop)
	})
	w.Close()
	rec.Close()
	r.events = rec.Events()
	r.out = buf.String()
	return r
}

// nemesis returns the run's nemesis events as "f value" lines (with
// " !error" when the world refused).
func (r *scriptRun) nemesis() []string {
	var out []string
	for _, e := range r.events {
		if e.Process != history.Nemesis {
			continue
		}
		s := e.F
		if e.Value != nil {
			s += " " + *e.Value
		}
		if e.Error != "" {
			s += " !" + e.Error
		}
		out = append(out, s)
	}
	return out
}

func (r *scriptRun) has(prefix string) bool {
	for _, s := range r.nemesis() {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}

// mustOK fails the test if the script or the world failed.
func (r *scriptRun) mustOK(t *testing.T) *scriptRun {
	t.Helper()
	if r.err != nil || r.runErr != nil {
		t.Fatalf("script error: %v; world error: %v\nnemesis: %q\noutput:\n%s", r.err, r.runErr, r.nemesis(), r.out)
	}
	return r
}

// logged returns the messages log() recorded in the history.
func (r *scriptRun) logged() []string {
	var out []string
	for _, e := range r.events {
		if e.Process == history.Nemesis && e.F == history.FaultNote && e.Error == "" && e.Value != nil {
			out = append(out, *e.Value)
		}
	}
	return out
}

func sec(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
