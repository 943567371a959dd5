package scenario

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/splitbrain/splitbrain/harness/world"
)

// Most API tests are written in Lua: the script asserts what it sees, and
// the Go side checks what reached the history.

func TestSleepAndNow(t *testing.T) {
	r := runScript(t, "t.lua", `
assert(now() == 0, "starts at 0, got " .. now())
sleep(2.5)
assert(now() == 2.5, "after sleep(2.5): " .. now())
sleep(0)
assert(now() == 2.5)
sleep(0.000000001)
log(string.format("%.9f", now()))
`, runOpts{}).mustOK(t)
	if got := r.logged(); !slices.Equal(got, []string{"2.500000001"}) {
		t.Fatalf("logged %q", got)
	}
	if r.w.Now() < sec(2.5) {
		t.Fatalf("world time %v: sleep did not sleep in the world", r.w.Now())
	}
}

func TestLeaderAndWaitForLeader(t *testing.T) {
	r := runScript(t, "t.lua", `
assert(leader() == nil, "no leader at time 0")
assert(wait_for_leader(0.5) == nil, "no leader within 0.5s")
assert(now() == 0.5, "waited until the timeout: " .. now())
local l = wait_for_leader(10)
assert(l ~= nil, "a leader within 10s")
assert(leader() == l)
log(l)
`, runOpts{}).mustOK(t)
	id, ok := r.w.Leader()
	if !ok || !slices.Equal(r.logged(), []string{id.String()}) {
		t.Fatalf("logged %q, world leader %v %v", r.logged(), id, ok)
	}
}

func TestNodesAndStatus(t *testing.T) {
	runScript(t, "t.lua", `
local ns = nodes()
assert(#ns == 5 and ns[1] == "n1" and ns[5] == "n5", "nodes: " .. table.concat(ns, ","))
local l = wait_for_leader()
sleep(1)
local s = status(l)
assert(s.id == l and s.state == "StateLeader" and s.term >= 1 and s.commit >= 1, "status: " .. tostring(s))
assert(#s.voters == 5 and s.learner == false)
kill(l)
assert(status(l) == nil, "a crashed node does not answer")
`, runOpts{}).mustOK(t)
}

func TestKillRestart(t *testing.T) {
	r := runScript(t, "t.lua", `
wait_for_leader()
local k = kill("minority")
assert(#k == 2, "minority of 5 is 2, got " .. #k)
for _, n in ipairs(k) do assert(status(n) == nil) end
sleep(1)
local r = restart()
assert(#r == 2 and r[1] == k[1] and r[2] == k[2], "restart() restarts what was killed")
assert(#kill({"n1", "n3"}) == 2)
assert(#restart("n1") == 1)
assert(#restart() == 1)
assert(#restart() == 0, "nothing left to restart")
`, runOpts{}).mustOK(t)
	for _, want := range []string{"kill n1", "kill n3", "restart n1", "restart n3", "note restart all !no node matches all"} {
		if !r.has(want) {
			t.Errorf("no %q in %q", want, r.nemesis())
		}
	}
}

func TestPauseResume(t *testing.T) {
	r := runScript(t, "t.lua", `
wait_for_leader()
local p = pause("leader")
assert(#p == 1)
sleep(3)
local l = wait_for_leader()
assert(l ~= p[1], "a new leader while the old one is paused")
assert(resume()[1] == p[1])
`, runOpts{}).mustOK(t)
	if !r.has("pause n") || !r.has("resume n") {
		t.Fatalf("nemesis %q", r.nemesis())
	}
}

func TestPartitionShapes(t *testing.T) {
	r := runScript(t, "t.lua", `
wait_for_leader()
for _, s in ipairs({"halves", "random-halves", "isolate-leader", "leader-minority", "leader-majority",
                    "majorities-ring", "bridge", "minority-third"}) do
  local d = partition(s)
  assert(d ~= nil and d:find(s, 1, true) == 1, s .. " -> " .. tostring(d))
  heal()
  wait_for_leader()
end
assert(partition("isolate", "n2"):find("isolate [n2] | [n1 n3 n4 n5]", 1, true), "isolate n2")
heal()
assert(partition("isolate", {"n1", "n2"}):find("[n1 n2] | [n3 n4 n5]", 1, true), "isolate a list")
heal()
assert(partition("one-way", "n1", "n2,n3"):find("one-way [n1] -/-> [n2 n3]", 1, true), "one-way")
heal()
`, runOpts{}).mustOK(t)
	partitions, heals := 0, 0
	for _, s := range r.nemesis() {
		switch {
		case strings.HasPrefix(s, "partition "):
			partitions++
		case strings.HasPrefix(s, "heal "):
			heals++
		}
	}
	if partitions != 11 || heals != 11 {
		t.Fatalf("%d partitions and %d heals, want 11 each: %q", partitions, heals, r.nemesis())
	}
}

func TestClocks(t *testing.T) {
	r := runScript(t, "t.lua", `
wait_for_leader()
assert(skew("n2", 2)[1] == "n2")
assert(#strobe("n3", 0.5, 2, 0.2) == 1)
assert(#strobe("n4", 0.5, 3, "300ms") == 1)
sleep(1)
local reset = clock_reset()
assert(#reset == 3, "reset " .. #reset)
`, runOpts{}).mustOK(t)
	for _, want := range []string{"clock n2 rate 2", "clock n3 strobe 0.5/2 every 200ms", "clock n4 strobe 0.5/3 every 300ms", "clock-reset n2"} {
		if !r.has(want) {
			t.Errorf("no %q in %q", want, r.nemesis())
		}
	}
}

func TestDiskFaults(t *testing.T) {
	r := runScript(t, "t.lua", `
wait_for_leader()
assert(lose_unsynced("n1")[1] == "n1")
assert(torn_write("n2")[1] == "n2")
sleep(1)
assert(#restart() == 2)
wait_for_leader()
assert(wipe("n3")[1] == "n3")
sleep(1)
local r = restart("n3")
assert(r[1] == "n3", "the wiped node is restarted by replacement")
local ns = nodes()
assert(#ns == 5 and ns[5] == "n6", "n3 was replaced by n6: " .. table.concat(ns, ","))
`, runOpts{}).mustOK(t)
	for _, want := range []string{"lose-unsynced n1", "torn-write n2", "wipe n3", "add-node n6 voter (replaces n3)", "restart n3 replaced by n6"} {
		if !r.has(want) {
			t.Errorf("no %q in %q", want, r.nemesis())
		}
	}
}

func TestMembership(t *testing.T) {
	r := runScript(t, "t.lua", `
wait_for_leader()
local v = add_node()
assert(v == "n6", "add_node() -> " .. tostring(v))
local l = add_node("learner")
assert(l == "n7")
sleep(2)
assert(status("n7").learner == true)
assert(promote("n7")[1] == "n7")
sleep(1)
assert(status("n7").learner == false)
assert(remove_node("n6")[1] == "n6")
local new = replace("n1")
assert(#new == 1 and new[1] == "n8", "replace n1 -> " .. tostring(new))
sleep(1)
assert(table.concat(nodes(), ",") == "n2,n3,n4,n5,n7,n8", table.concat(nodes(), ","))
`, runOpts{}).mustOK(t)
	for _, want := range []string{"add-node n6 voter", "add-node n7 learner", "promote n7", "remove-node n6", "remove-node n1 (replace)", "add-node n8 voter (replaces n1)"} {
		if !r.has(want) {
			t.Errorf("no %q in %q", want, r.nemesis())
		}
	}
}

func TestPacketSnapshotIsolateHealAll(t *testing.T) {
	r := runScript(t, "t.lua", `
wait_for_leader()
packet{loss=0.1, delay=0.02, jitter="5ms", links={"n1->n2", "n2->n1"}}
packet{dup=0.5, links="n3"}
packet{loss=1, only="entries", links="behind"}
sleep(1)
heal()
local d = snapshot_isolate("one", {gap=10, timeout=5})
assert(d and d:find("snapshot-isolate", 1, true), tostring(d))
sleep(6)
kill("one")
pause("one")
skew("one", 0.5)
partition("halves")
heal_all()
`, runOpts{}).mustOK(t)
	for _, want := range []string{"packet loss=0.1 delay=20ms jitter=5ms links=n1->n2,n2->n1", "packet dup=0.5 links=", "packet loss=1 only=entries links=", "partition snapshot-isolate", "heal snapshot-isolate of", "heal heal-all", "restart n", "resume n", "clock-reset n"} {
		if !r.has(want) {
			t.Errorf("no %q in %q", want, r.nemesis())
		}
	}
}

func TestLogAndPrint(t *testing.T) {
	r := runScript(t, "t.lua", `sleep(1.5)
log("hello", 1, 2.5, true, nil, {"a", "b", k = 1, j = {2}})
print("only", "output")
`, runOpts{}).mustOK(t)
	want := `hello 1 2.5 true nil {"a", "b", j={2}, k=1}`
	if got := r.logged(); !slices.Equal(got, []string{want}) {
		t.Fatalf("logged %q, want %q", got, want)
	}
	if !strings.Contains(r.out, "scenario t.lua:2:     1.500s  "+want+"\n") || !strings.Contains(r.out, "t.lua:3:     1.500s  only output") {
		t.Fatalf("output:\n%s", r.out)
	}
	if strings.Count(strings.Join(r.nemesis(), "\n"), "note") != 1 {
		t.Fatalf("print must not reach the history: %q", r.nemesis())
	}
}

// TestLogNoteIsBounded: a note log() records is at most MaxNote bytes,
// cut at a character boundary with a marker giving its length; a note
// within the bound is kept whole.
func TestLogNoteIsBounded(t *testing.T) {
	r := runScript(t, "t.lua", `log(string.rep("é", 3000000))
log(string.rep("x", 4096))
log("short")
`, runOpts{}).mustOK(t)
	got := r.logged()
	if len(got) != 3 {
		t.Fatalf("logged %d notes, want 3", len(got))
	}
	long := got[0]
	if len(long) > MaxNote || !utf8.ValidString(long) || !strings.HasPrefix(long, "éé") ||
		!strings.HasSuffix(long, "… (note truncated: 6000000 bytes in all)") {
		t.Errorf("a 6 MB note recorded as %d bytes (valid UTF-8 %v), ending %q", len(long), utf8.ValidString(long), long[max(0, len(long)-60):])
	}
	if got[1] != strings.Repeat("x", MaxNote) || got[2] != "short" {
		t.Errorf("notes within the bound were changed: %d bytes, %q", len(got[1]), got[2])
	}
	if len(r.out) > 3*MaxNote {
		t.Errorf("the output holds %d bytes for three notes", len(r.out))
	}
}

func TestRate(t *testing.T) {
	r := runScript(t, "t.lua", `rate(50) rate(12.5)`, runOpts{}).mustOK(t)
	if !slices.Equal(r.rates, []float64{50, 12.5}) {
		t.Fatalf("rates %v", r.rates)
	}
	r = runScript(t, "t.lua", "local n = 0\nrate(n)", runOpts{})
	if r.err == nil || r.err.Error() != "t.lua:2: rate: want a positive number of operations per second, got number 0" {
		t.Fatalf("err %v", r.err)
	}
}

func TestRandomIsSeeded(t *testing.T) {
	src := `
local xs = {}
for i = 1, 20 do table.insert(xs, random.int(1, 1000)) end
table.insert(xs, random.choice({"a", "b", "c"}))
table.insert(xs, table.concat(random.shuffle({1, 2, 3, 4, 5}), ""))
table.insert(xs, math.random(10))
table.insert(xs, math.random(5, 6))
table.insert(xs, string.format("%.6f", random.float()))
table.insert(xs, tostring(random.chance(0.5)))
log(table.concat(xs, " "))
for i = 1, 1000 do
  local v = random.int(-3, 3)
  assert(v >= -3 and v <= 3 and v == math.floor(v))
  local m = math.random(4)
  assert(m >= 1 and m <= 4)
  local f = math.random()
  assert(f >= 0 and f < 1)
end
assert(random.chance(0) == false and random.chance(1) == true)
`
	a := runScript(t, "t.lua", src, runOpts{seed: 5}).mustOK(t).logged()
	b := runScript(t, "t.lua", src, runOpts{seed: 5}).mustOK(t).logged()
	c := runScript(t, "t.lua", src, runOpts{seed: 6}).mustOK(t).logged()
	if len(a) != 1 || !slices.Equal(a, b) {
		t.Fatalf("same seed, different draws: %q vs %q", a, b)
	}
	if slices.Equal(a, c) {
		t.Fatalf("seeds 5 and 6 drew the same: %q", a)
	}
	r := runScript(t, "t.lua", "local s = 42\nmath.randomseed(s)", runOpts{})
	if r.err == nil || !strings.HasPrefix(r.err.Error(), "t.lua:2: math.randomseed: ") {
		t.Fatalf("math.randomseed: %v", r.err)
	}
}

func TestSandbox(t *testing.T) {
	runScript(t, "t.lua", `
for _, name in ipairs({"io", "os", "package", "debug", "coroutine", "channel", "require", "dofile", "loadfile",
                       "module", "collectgarbage", "newproxy"}) do
  assert(_G[name] == nil, name .. " must not be available")
end
assert(not tostring({}):find("0x"), "tostring must not show addresses: " .. tostring({}))
assert(not tostring(print):find("0x"))
assert(tostring(setmetatable({}, {__tostring = function() return "custom" end})) == "custom")
assert(string.upper("a") == "A" and table.concat({1, 2}) == "12" and math.floor(2.5) == 2)
`, runOpts{}).mustOK(t)
}

func TestRunningAndStop(t *testing.T) {
	// The test ends at 3s: running() turns false, sleep unwinds the
	// script, and Run returns nil.
	r := runScript(t, "t.lua", `
while running() do
  log(now())
  sleep(1)
end
log("not reached: sleep unwinds the script when the test ends")
`, runOpts{stop: func(w world.World) bool { return w.Now() >= sec(3) }}).mustOK(t)
	if got := r.logged(); !slices.Equal(got, []string{"0", "1", "2"}) {
		t.Fatalf("logged %q", got)
	}
	// pcall cannot swallow the end of the test.
	r = runScript(t, "t.lua", `
while true do
  pcall(sleep, 10)
  log("after pcall")
end
`, runOpts{stop: func(w world.World) bool { return w.Now() >= sec(3) }}).mustOK(t)
	if len(r.logged()) != 0 {
		t.Fatalf("the script went on after the end: %q", r.logged())
	}
}

func TestRunawayLoop(t *testing.T) {
	// In the sim a loop that never lets time pass would hang the test: the
	// instruction budget stops it and names the line.
	r := runScript(t, "spin.lua", "sleep(1)\nlocal x = 0\nwhile true do\n  x = x + 1\nend\n", runOpts{})
	if r.err == nil || !regexp.MustCompile(`^spin\.lua:[345]: ran \d+ Lua instructions while the test clock stood still at 1\.000s: an endless loop\?`).MatchString(r.err.Error()) {
		t.Fatalf("err %v", r.err)
	}
	// ... even inside pcall.
	r = runScript(t, "spin.lua", "pcall(function() while true do end end)\nlog('escaped')", runOpts{})
	if r.err == nil || !strings.HasPrefix(r.err.Error(), "spin.lua:1: ran ") || len(r.logged()) != 0 {
		t.Fatalf("err %v, logged %q", r.err, r.logged())
	}
	// The end of the test stops a busy loop too (process mode, where the
	// clock moves on its own).
	calls := 0
	r = runScript(t, "spin.lua", "while true do end", runOpts{stop: func(world.World) bool { calls++; return calls > 100 }})
	if r.err != nil {
		t.Fatalf("a loop stopped by the end of the test is not an error: %v", r.err)
	}
	// Busy-waiting on leader() is also an endless loop in the sim.
	r = runScript(t, "spin.lua", "while not leader() do end", runOpts{})
	if r.err == nil || !strings.HasPrefix(r.err.Error(), "spin.lua:1: ran ") {
		t.Fatalf("err %v", r.err)
	}
}

func TestRuntimeErrorsNameFileAndLine(t *testing.T) {
	// Arguments the linter cannot see (not literals) are checked when the
	// call runs, with the same messages.
	cases := []struct{ src, want string }{
		{"local s = 'halfs'\n\npartition(s)", `t.lua:3: partition: unknown shape "halfs" (did you mean "halves"?) (want one of halves, random-halves, isolate, isolate-leader, leader-minority, leader-majority, majorities-ring, bridge, minority-third, one-way)`},
		{"local t = 'minorty'\nkill(t)", `t.lua:2: kill: bad target "minorty" (did you mean "minority"?) (want one of one, minority, majority, all, leader, followers, random, behind, nodes like n1,n3, or members by rank like @1,@3)`},
		{"local t = 3\nkill(t)", `t.lua:2: kill: want a target ("minority", "leader", "n3", "n1,n3" or a list of node names), got number 3 (usage: kill(target))`},
		{"local n = {}\nkill(n)", `t.lua:2: kill: the list of nodes is empty (usage: kill(target))`},
		{"local x = 'n1 n2'\npause(x)", `t.lua:2: pause: bad argument "n1 n2": no spaces or '#' (a list of nodes is "n1,n3" or {"n1", "n3"})`},
		{"local r = -1\nskew('one', r)", `t.lua:2: skew: rate "-1": want a positive number (1 is real speed, 0.5 half, 2 double)`},
		{"local o = {los = 0.1}\npacket(o)", `t.lua:2: packet: unknown option "los" (want loss, dup, reorder, delay, jitter, only, links) (usage: packet{loss=0.1, dup=0.05, reorder=0.1, delay=0.02, jitter="10ms", only="entries", links="all"})`},
		{"local d = -2\nsleep(d)", `t.lua:2: sleep: want a non-negative number of seconds, got -2`},
		{"local d = '2s'\nsleep(d)", `t.lua:2: sleep: want a number of seconds, got string "2s"`},
		{"local x\nstatus(x)", `t.lua:2: status: want a node name like "n3", got nil`},
		{"local x = 'leader'\nadd_node(x)", `t.lua:2: add_node: want nothing, "voter", "learner" or true (a learner), got string "leader" (usage: add_node([learner]))`},
		{"local a, b = 5, 1\nrandom.int(a, b)", `t.lua:2: random.int: empty range [5, 1]`},
		{"local l = {}\nrandom.choice(l)", `t.lua:2: random.choice: the list is empty`},
		{"\n\nerror('boom')", `t.lua:3: boom`},
		{"local t = nil\nt.x = 1", `t.lua:2: attempt to index a non-table object(nil) with key 'x'`},
		{"error({code = 7})", `error object: {code=7}`},
	}
	for _, c := range cases {
		r := runScript(t, "t.lua", c.src, runOpts{})
		if r.err == nil || r.err.Error() != c.want {
			t.Errorf("%q:\n got %v\nwant %s", c.src, r.err, c.want)
		}
	}
}

func TestScriptErrorStopsTheTimeline(t *testing.T) {
	r := runScript(t, "t.lua", "wait_for_leader()\nkill('one')\nsleep(1)\nlocal x = nil\nx()\nkill('one')\n", runOpts{})
	if r.err == nil || !strings.HasPrefix(r.err.Error(), "t.lua:5: ") {
		t.Fatalf("err %v", r.err)
	}
	kills := 0
	for _, s := range r.nemesis() {
		if strings.HasPrefix(s, "kill ") {
			kills++
		}
	}
	if kills != 1 {
		t.Fatalf("the fault after the error ran: %q", r.nemesis())
	}
	var se interface{ Error() string } = r.err
	if errors.Unwrap(se.(error)) != nil {
		t.Fatalf("the script error should be a plain message: %#v", r.err)
	}
}

func TestFormat(t *testing.T) {
	// log() output is part of the history: no addresses, sorted keys.
	r := runScript(t, "t.lua", `log({3, 2, 1, z = {y = {x = {w = 1}}}, a = print})`, runOpts{}).mustOK(t)
	if got := fmt.Sprint(r.logged()); got != `[{3, 2, 1, a=function, z={y={x={…}}}}]` {
		t.Fatalf("logged %s", got)
	}
}
