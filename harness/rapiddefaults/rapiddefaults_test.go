package rapiddefaults

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

func TestDefaults(t *testing.T) {
	env := func(kv ...string) func(string) (string, bool) {
		return func(k string) (string, bool) {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1], true
				}
			}
			return "", false
		}
	}
	for _, tc := range []struct {
		env  []string
		want string
	}{
		{nil, "map[rapid.nofailfile:true rapid.seed:1]"},
		{[]string{"RAPID_SEED", "77"}, "map[rapid.nofailfile:true]"},
		{[]string{"RAPID_NOFAILFILE", "false"}, "map[rapid.seed:1]"},
	} {
		if got := fmt.Sprint(defaults(env(tc.env...))); got != tc.want {
			t.Errorf("env %q: defaults %s, want %s", tc.env, got, tc.want)
		}
	}
}

// fakeTB records what rapid reports instead of failing the test; rapid's
// FailNow ends the goroutine, as testing's does.
type fakeTB struct {
	name   string
	failed bool
	log    strings.Builder
}

func (f *fakeTB) Helper()                           {}
func (f *fakeTB) Name() string                      { return f.name }
func (f *fakeTB) Logf(format string, args ...any)   { fmt.Fprintf(&f.log, format+"\n", args...) }
func (f *fakeTB) Log(args ...any)                   { fmt.Fprintln(&f.log, args...) }
func (f *fakeTB) Skipf(format string, args ...any)  { f.Logf(format, args...); runtime.Goexit() }
func (f *fakeTB) Skip(args ...any)                  { f.Log(args...); runtime.Goexit() }
func (f *fakeTB) SkipNow()                          { runtime.Goexit() }
func (f *fakeTB) Errorf(format string, args ...any) { f.failed = true; f.Logf(format, args...) }
func (f *fakeTB) Error(args ...any)                 { f.failed = true; f.Log(args...) }
func (f *fakeTB) Fatalf(format string, args ...any) { f.Errorf(format, args...); runtime.Goexit() }
func (f *fakeTB) Fatal(args ...any)                 { f.Error(args...); runtime.Goexit() }
func (f *fakeTB) FailNow()                          { f.failed = true; runtime.Goexit() }
func (f *fakeTB) Fail()                             { f.failed = true }
func (f *fakeTB) Failed() bool                      { return f.failed }

// check runs rapid.Check on a fake TB and returns it when rapid is done.
func check(name string, prop func(*rapid.T)) *fakeTB {
	f := &fakeTB{name: name}
	done := make(chan struct{})
	go func() {
		defer close(done)
		rapid.Check(f, prop)
	}()
	<-done
	return f
}

// TestSameDrawsEveryRun: with the defaults, two runs draw the same cases.
func TestSameDrawsEveryRun(t *testing.T) {
	if flagValue("rapid.seed") != fmt.Sprint(Seed) {
		t.Skip("the seed was chosen (RAPID_SEED or -rapid.seed): this test is about the default")
	}
	draw := func() []int {
		var seen []int
		if f := check("TestDraws", func(rt *rapid.T) { seen = append(seen, rapid.Int().Draw(rt, "n")) }); f.failed {
			t.Fatalf("a property that cannot fail failed:\n%s", f.log.String())
		}
		return seen
	}
	a, b := draw(), draw()
	if len(a) == 0 || fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatalf("two runs drew %v and %v", a, b)
	}
	if d := Describe(); !strings.Contains(d, "rapid seed 1 (the fixed default") {
		t.Errorf("Describe: %s", d)
	}
}

// TestAFailureLeavesNoFailFile: a failing property writes nothing under
// testdata/rapid/ (rapid's place for fail files, in the source tree), and
// says how to replay the failure by seed.
func TestAFailureLeavesNoFailFile(t *testing.T) {
	if flagValue("rapid.nofailfile") != "true" {
		t.Skip("fail files were chosen (RAPID_NOFAILFILE or -rapid.nofailfile): this test is about the default")
	}
	const name = "TestRapidDefaultsAlwaysFails"
	dir := filepath.Join("testdata", "rapid", name)
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("%s exists before the test (%v): remove it", dir, err)
	}
	t.Cleanup(func() { os.RemoveAll("testdata") }) // only if the test failed: nothing else is there
	f := check(name, func(rt *rapid.T) {
		if rapid.IntRange(0, 10).Draw(rt, "n") >= 0 {
			rt.Fatalf("always")
		}
	})
	if !f.failed {
		t.Fatalf("the property did not fail:\n%s", f.log.String())
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failing property left %s (%v)", dir, err)
	}
	if out := f.log.String(); !strings.Contains(out, "-rapid.seed=") || strings.Contains(out, "-rapid.failfile=") {
		t.Errorf("the failure does not say how to replay it by seed (or names a fail file):\n%s", out)
	}
}

func flagValue(name string) string { return flag.Lookup(name).Value.String() }
