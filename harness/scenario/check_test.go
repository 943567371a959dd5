package scenario

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func checkSource(t *testing.T, name, src string) error {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	return Check(name)
}

func TestCheckSyntax(t *testing.T) {
	cases := []struct{ src, want string }{
		{"sleep(1)\nlocal x = = 2\n", "n.lua:2: syntax error near '='"},
		{"while true do\n  sleep(1)\n", "n.lua:2: syntax error at the end of the file (an 'end' or a closing bracket missing?)"},
		{"kill(\"one\"", "n.lua:1: syntax error at the end of the file (an 'end' or a closing bracket missing?)"},
		{"\n\n\nlocal s = 'unfinished\n", "n.lua:4: unterminated string near 'unfinished'"},
	}
	for _, c := range cases {
		if err := checkSource(t, "n.lua", c.src); err == nil || err.Error() != c.want {
			t.Errorf("%q: got %v, want %s", c.src, err, c.want)
		}
	}
	if err := Check(filepath.Join(t.TempDir(), "missing.lua")); err == nil || !strings.Contains(err.Error(), "missing.lua") {
		t.Errorf("a missing file: %v", err)
	}
}

// TestCheckLiterals: wrong literal arguments are found before the run,
// with the messages the call would raise, naming the line of each.
func TestCheckLiterals(t *testing.T) {
	src := `-- nightly
wait_for_leader(10)
partiton("halves")
partition("halfs")
kill("minorty")
sleep(-1)
skew("leader", "fast")
strobe("one", 0.5, 2, 0)
packet{loss = 2}
add_node("leader")
snapshot_isolate("one", {gap = 1.5})
rate(0)
wait_for_leader("soon")
foo()
heal(1)
restart("one", "two")
`
	err := checkSource(t, "nightly.lua", src)
	if err == nil {
		t.Fatal("no error")
	}
	want := []string{
		`nightly.lua:3: unknown function "partiton" (did you mean "partition"?)`,
		`nightly.lua:4: partition: unknown shape "halfs" (did you mean "halves"?) (want one of halves, random-halves, isolate, isolate-leader, leader-minority, leader-majority, majorities-ring, bridge, minority-third, one-way)`,
		`nightly.lua:5: kill: bad target "minorty" (did you mean "minority"?) (want one of one, minority, majority, all, leader, followers, random, behind, nodes like n1,n3, or members by rank like @1,@3)`,
		`nightly.lua:6: sleep: want a non-negative number of seconds, got -1`,
		`nightly.lua:7: skew: rate: want a number, got string "fast" (usage: skew(target, rate))`,
		`nightly.lua:8: strobe: period "0s": want a positive duration like 200ms or 2s`,
		`nightly.lua:9: packet: loss=2: want a probability between 0 and 1`,
		`nightly.lua:10: add_node: want nothing, "voter", "learner" or true (a learner), got string "leader" (usage: add_node([learner]))`,
		`nightly.lua:11: snapshot_isolate: gap: want a whole number of log entries, got number 1.5 (usage: snapshot_isolate(target [, {gap=200, timeout=20}]))`,
		`nightly.lua:12: rate: want a positive number of operations per second, got number 0`,
		`nightly.lua:13: wait_for_leader: want a number of seconds, got string "soon"`,
		`nightly.lua:14: unknown function "foo"`,
		`nightly.lua:15: heal: takes no arguments, got 1 (usage: heal())`,
		`nightly.lua:16: restart: takes one target, got 2 arguments (usage: restart([target]))`,
	}
	if got := strings.Split(err.Error(), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got:\n%s\nwant:\n%s", err, strings.Join(want, "\n"))
	}
}

// TestCheckAcceptsWhatCanRun: the linter never rejects a script that can
// run: names bound anywhere, shadowed API names, dynamic globals,
// non-literal arguments.
func TestCheckAcceptsWhatCanRun(t *testing.T) {
	for _, src := range []string{
		"local function twice(f) f() f() end\ntwice(heal)",
		"for _, f in ipairs({heal}) do f() end",
		"function later() heal() end\nlater()",
		"local kill = function(x) end\nkill('not a target')",
		"_G['dyn'] = heal\ndyn()",
		"local s = 'halves'\npartition(s)",
		"partition('isolate', leader())",
		"local t = {f = heal}\nt.f()\nt:g()",
		"x = {}\nfunction x.y() end\nx.y()",
		"sleep(1) kill{'n1', 'n3'} skew('n2', 0.5) packet{delay = '20ms', links = {'n1->n2'}} add_node(true) snapshot_isolate('one')",
		"strobe('one', 0.5, 2, '200ms') restart() resume() clock_reset() heal_all() partition('one-way', 'leader', 'followers')",
	} {
		if err := checkSource(t, "ok.lua", src); err != nil {
			t.Errorf("%q: %v", src, err)
		}
	}
}

func TestExamplesCheck(t *testing.T) {
	paths, _ := filepath.Glob("examples/*.lua")
	if len(paths) < 5 {
		t.Fatalf("examples: %v", paths)
	}
	for _, p := range paths {
		if err := Check(p); err != nil {
			t.Errorf("%v", err)
		}
	}
}

var errPlace = regexp.MustCompile(`^fuzz\.lua(:\d+)?: `)

// FuzzCheck: compiling and linting any input never panics, and every
// error names the file (and the line, where there is one).
func FuzzCheck(f *testing.F) {
	for _, s := range []string{
		"", "sleep(1)", "partition('halfs')", "local x = = 1", "while true do", "kill{'n1', 3}",
		"packet{loss = 0.1, [1] = 2}", "f = function(...) return ... end f()", "x = -0x10 sleep(x)",
		"snapshot_isolate('one', {gap = 1e400})", "goto l ::l::", "a.b.c:d(1, 2)", "return",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		_, err := compile("fuzz.lua", []byte(src))
		if err == nil {
			return
		}
		for _, line := range strings.Split(err.Error(), "\n") {
			if !errPlace.MatchString(line) {
				t.Fatalf("error line does not name the place: %q", line)
			}
		}
	})
}

// TestCheckRefusesMissingLibraries: os, io and the other libraries the
// sandbox leaves out are refused before the run where the script names
// them, not after the whole run has been spent; globals the script
// defines anywhere, and scripts that reach globals dynamically, pass.
func TestCheckRefusesMissingLibraries(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{"sleep(1)\nos.execute('touch /tmp/x')\n", "n.lua:2: os is not available in a scenario (os.execute): the sandbox has no io, os, package, debug or coroutine library"},
		{"local f = io.open('/etc/passwd')\n", "n.lua:1: io is not available in a scenario (io.open)"},
		{"if false then\n  local d = debug.getinfo(1)\nend\n", "n.lua:2: debug is not available in a scenario (debug.getinfo)"},
	} {
		if err := checkSource(t, "n.lua", c.src); err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%q: got %v, want %s", c.src, err, c.want)
		}
	}
	for _, src := range []string{
		"cfg = {}\ncfg.rate = 5\n", "if false then cfg.rate = 5 end\n", "local os = {time = 1}\nlog(os.time)\n", "function f() return later.x end\nlater = {x = 1}\n",
		"local lib = _G['o' .. 's']\n", "local t = {}\nt.x = string.rep('a', 2) .. table.concat({}) .. math.floor(1.5)\n",
	} {
		if err := checkSource(t, "n.lua", src); err != nil {
			t.Errorf("%q refused: %v", src, err)
		}
	}
}
