package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/splitbrain/splitbrain/harness"
	"github.com/splitbrain/splitbrain/nemesis"
)

// testFromArgs is run's flag → Test path without the run: parse the
// flags, build the Test, fill the defaults and validate it.
func testFromArgs(args []string) (harness.Test, error) {
	var t harness.Test
	var f runFlags
	cmd := &cobra.Command{Use: "run"}
	f.define(cmd, &t)
	if err := cmd.ParseFlags(args); err != nil {
		return t, usageErr(err)
	}
	if err := f.build(cmd, &t); err != nil {
		return t, usageErr(err)
	}
	t.Defaults()
	return t, t.Validate()
}

func isUsage(err error) bool {
	var ee *exitError
	return errors.Is(err, harness.ErrUsage) || errors.As(err, &ee) && ee.code == 2
}

// TestBadRunFlagsNameTheValue: each refusal is a usage error whose
// message names the flag and the value (or the file and line).
func TestBadRunFlagsNameTheValue(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	n9 := write("n9.txt", "1.0s kill n9\n3.0s restart n9\n")
	n99 := write("n99.txt", "# a node that can never exist\n1.0s kill n99\n")
	late := write("late.txt", "1.0s kill one\n999h heal-all\n")
	stretch := write("stretch.txt", "1.0s kill one\n20.0s restart one\n")
	lua := write("s.lua", "sleep(1)\n")
	results := filepath.Join(dir, "results")
	for _, c := range []struct {
		args []string
		want string // in the message
	}{
		{[]string{"--nodes", "0"}, "--nodes 0"},
		{[]string{"--rate", "0"}, "--rate 0"},
		{[]string{"--clients", "0"}, "--clients 0"},
		{[]string{"--keys", "0"}, "--keys 0"},
		{[]string{"--time", "0"}, "--time 0s"},
		{[]string{"--liveness-bound", "0"}, "--liveness-bound 0s"},
		{[]string{"--liveness-bound", "-1s"}, "liveness bound must be positive, got -1s"},
		{[]string{"--check-timeout", "-1s"}, "check timeout must be positive (or 0 for none), got -1s"},
		{[]string{"--time", "100000h"}, "time 100000h0m0s is longer than the longest test"},
		{[]string{"--time", "10h", "--rate", "1000"}, "plans"},
		{[]string{"--rate", "NaN"}, "rate NaN"},
		{[]string{"--schedule", n9, "--time", "20s"}, n9 + ":1: no such node: 1.0s kill n9: n9 is not in the 5-node cluster"},
		{[]string{"--schedule", n99, "--time", "20s"}, n99 + ":2: no such node"},
		{[]string{"--schedule", late, "--time", "5s", "--liveness-bound", "2s"}, late + ":2: event after the end of the test"},
		{[]string{"--schedule", stretch, "--time", "5s", "--liveness-bound", "2s"}, stretch + ":2: event after the end of the test"},
		{[]string{"--scenario", lua, "--schedule", n9}, "both drive the faults"},
		{[]string{"--system", "etcd", "--mode", "sim"}, `system "etcd" runs in the process world only`},
		{[]string{"--read-consistency", "serializable"}, "the reference node offers only linearizable reads"},
		{[]string{"--system", "etcd", "--read-consistency", "stale"}, `read consistency "stale"`},
		{[]string{"--converge-bound", "0"}, "--converge-bound 0s"},
	} {
		args := append(append([]string{}, c.args...), "--results", results)
		_, err := testFromArgs(args)
		if !isUsage(err) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("run %s: got %v, want a usage error containing %q", strings.Join(c.args, " "), err, c.want)
		}
	}
	// Not given, the same flags mean their defaults.
	tt, err := testFromArgs(nil)
	if err != nil || tt.Nodes != 5 || tt.Workload.Rate != 200 || time.Duration(tt.Duration) != time.Minute || tt.Mode != "sim" {
		t.Fatalf("defaults: %+v, %v", tt, err)
	}
	// A system other than the reference node runs as processes unless
	// told otherwise.
	if tt, err := testFromArgs([]string{"--system", "etcd@debian"}); err != nil || tt.Mode != "process" {
		t.Fatalf("--system etcd@debian: mode %q, %v", tt.Mode, err)
	}
}

// FuzzRunFlags: no flag values make the flag → Test path panic, and every
// refusal is a usage error; a Test that validates can draw its schedule.
func FuzzRunFlags(f *testing.F) {
	for _, s := range []string{
		"", "--nodes 0", "--nodes 3 --time 20s --liveness-bound 5s", "--rate 1e308", "--rate -1",
		"--liveness-bound -1s", "--time 1ns", "--time 2ns --liveness-bound 1ns", "--clients 1000000000",
		"--keys 99999999999", "--mix 0/0/0", "--mix 1/2", "--nemesis all", "--nemesis meteor",
		"--op-timeout 2562047h", "--check-timeout -1ns", "--seed 18446744073709551615", "--rate 0.0001",
		"--time 24h --rate 10", "--bug local-reads --skip-invariant nope", "--mode cloud", "--name ../x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		var args []string
		for _, a := range strings.Fields(line) {
			switch a {
			case "--schedule", "--scenario", "--results", "--help", "-h":
				return // files and help are not this target's business
			}
			args = append(args, a)
		}
		tt, err := testFromArgs(args)
		if err != nil {
			var ee *exitError
			if !isUsage(err) && !errors.As(err, &ee) {
				t.Fatalf("%q: %v is not a usage error", line, err)
			}
			return
		}
		heal := tt.FinalHeal()
		if heal <= 0 || heal > time.Duration(tt.Duration) {
			t.Fatalf("%q: final heal %v outside the %v test", line, heal, time.Duration(tt.Duration))
		}
		if time.Duration(tt.Duration) <= time.Hour {
			nemesis.Generate(tt.Seed, nemesis.GenOptions{Duration: time.Duration(tt.Duration), FinalHeal: heal, Kinds: tt.Nemesis, Nodes: tt.Nodes})
		}
	})
}
