package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadRunInputExitsTwo: input that used to be silently replaced by a
// default, ignored, accepted to run fault-free or forever, or to panic,
// is a usage error (exit 2) before anything runs: no run directory is
// created. (TestBadRunFlagsNameTheValue checks the messages.)
func TestBadRunInputExitsTwo(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	n9 := write("n9.txt", "1.0s kill n9\n3.0s restart n9\n")
	late := write("late.txt", "1.0s kill one\n999h heal-all\n")
	stretch := write("stretch.txt", "1.0s kill one\n20.0s restart one\n")
	lua := write("s.lua", "sleep(1)\n")
	osLua := write("os.lua", "sleep(1)\nos.execute('true')\n")
	badSystem := write("bad.toml", "start = [\"/bin/mynode\"]\n[capabilities]\npartition = \"ports\"\n")
	short := []string{"--time", "20s", "--liveness-bound", "5s"}
	for _, c := range []struct {
		name string
		args []string
	}{
		{"nodes_0", append([]string{"--nodes", "0"}, short...)},
		{"rate_0", append([]string{"--rate", "0"}, short...)},
		{"clients_0", append([]string{"--clients", "0"}, short...)},
		{"keys_0", append([]string{"--keys", "0"}, short...)},
		{"time_0", []string{"--time", "0"}},
		{"liveness_bound_0", []string{"--liveness-bound", "0", "--time", "20s"}},
		{"liveness_bound_negative", []string{"--liveness-bound", "-1s", "--time", "20s"}},
		{"check_timeout_negative", append([]string{"--check-timeout", "-1s"}, short...)},
		{"time_too_long", []string{"--time", "100000h"}},
		{"too_many_operations", []string{"--time", "10h", "--rate", "1000"}},
		{"schedule_node_that_cannot_exist", append([]string{"--schedule", n9}, short...)},
		{"schedule_event_after_the_end", []string{"--schedule", late, "--time", "5s", "--liveness-bound", "2s"}},
		{"schedule_event_stretching_the_test", []string{"--schedule", stretch, "--time", "5s", "--liveness-bound", "2s"}},
		{"scenario_and_schedule", append([]string{"--scenario", lua, "--schedule", n9}, short...)},
		{"scenario_using_os", append([]string{"--scenario", osLua}, short...)},
		{"bad_system_file", append([]string{"--system", badSystem}, short...)},
		{"unknown_system", append([]string{"--system", "nosuchsystem"}, short...)},
		{"etcd_in_the_sim", append([]string{"--system", "etcd@debian", "--mode", "sim"}, short...)},
		{"serializable_reference_node", append([]string{"--read-consistency", "serializable"}, short...)},
		{"converge_bound_0", append([]string{"--converge-bound", "0"}, short...)},
	} {
		t.Run(c.name, func(t *testing.T) {
			results := filepath.Join(dir, "results-"+c.name)
			args := append(append([]string{"run"}, c.args...), "--results", results)
			if code := run(args); code != 2 {
				t.Fatalf("splitbrain %s: exit %d, want 2", strings.Join(args, " "), code)
			}
			if _, err := os.Stat(results); err == nil {
				t.Fatalf("a usage error created %s", results)
			}
		})
	}
}
