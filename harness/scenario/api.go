package scenario

import (
	"fmt"
	"math"
	"time"
	"unicode/utf8"

	lua "github.com/yuin/gopher-lua"

	"github.com/splitbrain/splitbrain/harness/history"
	"github.com/splitbrain/splitbrain/harness/world"
)

// apiFunc is a Lua function of the scenario API other than the faults.
type apiFunc struct {
	name  string
	usage string
	fn    func(in *interp) int
	// check validates literal arguments before the run (nil: nothing
	// to check); it returns the message the run would raise.
	check func(args []lua.LValue) error
}

var apiFuncs = []apiFunc{
	{name: "sleep", usage: "sleep(seconds)", fn: (*interp).sleep, check: checkSleep},
	{name: "now", usage: "now()", fn: (*interp).now},
	{name: "running", usage: "running()", fn: (*interp).running},
	{name: "leader", usage: "leader()", fn: (*interp).leader},
	{name: "wait_for_leader", usage: "wait_for_leader([timeout])", fn: (*interp).waitForLeader, check: checkWaitForLeader},
	{name: "nodes", usage: "nodes()", fn: (*interp).nodes},
	{name: "status", usage: "status(node)", fn: (*interp).status},
	{name: "log", usage: "log(...)", fn: (*interp).log},
	{name: "print", usage: "print(...)", fn: (*interp).print},
	{name: "rate", usage: "rate(ops_per_second)", fn: (*interp).rate, check: checkRate},
}

// defaultLeaderWait is wait_for_leader's timeout when none is given.
const defaultLeaderWait = 10 * time.Second

// install puts the API into the script's globals.
func (in *interp) install() {
	L := in.L
	for i := range apiFuncs {
		f := &apiFuncs[i]
		L.SetGlobal(f.name, L.NewFunction(func(*lua.LState) int { return f.fn(in) }))
	}
	for i := range faultFuncs {
		f := &faultFuncs[i]
		L.SetGlobal(f.name, L.NewFunction(func(*lua.LState) int { return in.apply(f) }))
	}
	in.installRandom()
}

// secondsArg reads argument n as a non-negative number of seconds.
func (in *interp) secondsArg(fn string, n int) time.Duration {
	v := in.L.Get(n)
	num, ok := v.(lua.LNumber)
	if !ok {
		in.argError(fn, "want a number of seconds, got %s", typeOf(v))
	}
	d, err := seconds(float64(num))
	if err != nil {
		in.argError(fn, "%v", err)
	}
	return d
}

func argCount(fn string, args []lua.LValue, lo, hi int) error {
	if len(args) < lo || len(args) > hi {
		if lo == hi {
			return fmt.Errorf("%s: takes %d argument(s), got %d", fn, lo, len(args))
		}
		return fmt.Errorf("%s: takes %d to %d arguments, got %d", fn, lo, hi, len(args))
	}
	return nil
}

func checkSeconds(fn string, v lua.LValue) error {
	num, ok := v.(lua.LNumber)
	if !ok {
		return fmt.Errorf("%s: want a number of seconds, got %s", fn, typeOf(v))
	}
	if _, err := seconds(float64(num)); err != nil {
		return fmt.Errorf("%s: %v", fn, err)
	}
	return nil
}

func checkSleep(args []lua.LValue) error {
	if err := argCount("sleep", args, 1, 1); err != nil {
		return err
	}
	return checkSeconds("sleep", args[0])
}

func checkWaitForLeader(args []lua.LValue) error {
	if err := argCount("wait_for_leader", args, 0, 1); err != nil {
		return err
	}
	if len(args) == 1 && args[0] != lua.LNil {
		return checkSeconds("wait_for_leader", args[0])
	}
	return nil
}

func checkRate(args []lua.LValue) error {
	if err := argCount("rate", args, 1, 1); err != nil {
		return err
	}
	n, ok := args[0].(lua.LNumber)
	if !ok || !(float64(n) > 0) || math.IsInf(float64(n), 0) {
		return fmt.Errorf("rate: want a positive number of operations per second, got %s", typeOf(args[0]))
	}
	return nil
}

// args returns the call's arguments.
func (in *interp) args() []lua.LValue {
	out := make([]lua.LValue, in.L.GetTop())
	for i := range out {
		out[i] = in.L.Get(i + 1)
	}
	return out
}

// sleep(seconds): let test time pass (w.Sleep: virtual time in the sim).
func (in *interp) sleep() int {
	if err := checkSleep(in.args()); err != nil {
		in.L.RaiseError("%v", err)
	}
	in.sleepFor(in.secondsArg("sleep", 1))
	return 0
}

// now(): seconds since the test started.
func (in *interp) now() int {
	in.L.Push(lua.LNumber(in.w.Now().Seconds()))
	return 1
}

// running(): false once the test is over (for loops that should end with
// it rather than be cut short).
func (in *interp) running() int {
	in.L.Push(lua.LBool(in.budget.tripped == nil && !in.stop()))
	return 1
}

// leader(): the current leader's name, or nil.
func (in *interp) leader() int {
	if id, ok := in.w.Leader(); ok {
		in.L.Push(lua.LString(id.String()))
	} else {
		in.L.Push(lua.LNil)
	}
	return 1
}

// wait_for_leader([timeout]): the leader once there is one, or nil after
// timeout seconds (default 10).
func (in *interp) waitForLeader() int {
	if err := checkWaitForLeader(in.args()); err != nil {
		in.L.RaiseError("%v", err)
	}
	timeout := defaultLeaderWait
	if in.L.GetTop() >= 1 && in.L.Get(1) != lua.LNil {
		timeout = in.secondsArg("wait_for_leader", 1)
	}
	deadline := in.w.Now() + timeout
	for {
		in.checkStop()
		if id, ok := in.w.Leader(); ok {
			in.L.Push(lua.LString(id.String()))
			return 1
		}
		now := in.w.Now()
		if now >= deadline {
			in.L.Push(lua.LNil)
			return 1
		}
		in.w.Sleep(min(deadline-now, pollEvery))
	}
}

// nodes(): the members, sorted, as a list of names.
func (in *interp) nodes() int {
	t := in.L.NewTable()
	for _, id := range in.w.Nodes() {
		t.Append(lua.LString(id.String()))
	}
	in.L.Push(t)
	return 1
}

// status(node): what the node says of itself, or nil if it cannot answer.
func (in *interp) status() int {
	L := in.L
	if L.GetTop() != 1 {
		in.argError("status", "takes one node name, got %d arguments", L.GetTop())
	}
	name, ok := L.Get(1).(lua.LString)
	if !ok {
		in.argError("status", "want a node name like \"n3\", got %s", typeOf(L.Get(1)))
	}
	id, err := world.ParseNodeID(string(name))
	if err != nil {
		in.argError("status", "%v", err)
	}
	s, ok := in.w.Status(id)
	if !ok {
		L.Push(lua.LNil)
		return 1
	}
	t := L.NewTable()
	t.RawSetString("id", lua.LString(s.ID.String()))
	t.RawSetString("term", lua.LNumber(s.Term))
	if s.Leader != 0 {
		t.RawSetString("leader", lua.LString(s.Leader.String()))
	}
	t.RawSetString("state", lua.LString(s.State))
	t.RawSetString("commit", lua.LNumber(s.Commit))
	t.RawSetString("applied", lua.LNumber(s.Applied))
	t.RawSetString("learner", lua.LBool(s.Learner))
	voters := L.NewTable()
	for _, v := range s.Voters {
		voters.Append(lua.LString(v.String()))
	}
	t.RawSetString("voters", voters)
	L.Push(t)
	return 1
}

// MaxNote bounds a note that log() records in the history (and prints):
// a longer message is cut to this many bytes, at a character boundary,
// and ends with a marker that says how long it was. A history is read
// whole by check, the timeline and serve; a script must not be able to
// fill it with one call.
const MaxNote = 4 << 10

// log(...): a note in the history (a nemesis "note" event, shown on the
// timeline) and a line on Output, both cut to MaxNote bytes.
func (in *interp) log() int {
	msg := boundNote(formatArgs(in.L))
	in.line(msg)
	if in.rec != nil {
		in.rec.Record(history.Event{Type: history.Info, Process: history.Nemesis, F: history.FaultNote, Value: history.Str(msg)})
	}
	return 0
}

// boundNote cuts msg to at most MaxNote bytes, marker included, at a
// UTF-8 character boundary: "…… (note truncated: 123456 bytes in all)".
func boundNote(msg string) string {
	if len(msg) <= MaxNote {
		return msg
	}
	marker := fmt.Sprintf("… (note truncated: %d bytes in all)", len(msg))
	cut := MaxNote - len(marker)
	for cut > 0 && !utf8.RuneStart(msg[cut]) {
		cut--
	}
	return msg[:cut] + marker
}

// print(...): a line on Output only.
func (in *interp) print() int {
	in.line(formatArgs(in.L))
	return 0
}

func (in *interp) line(msg string) {
	if Output != nil {
		fmt.Fprintf(Output, "scenario %s %9.3fs  %s\n", in.where(), in.w.Now().Seconds(), msg)
	}
}

// rate(n): the workload's target rate in operations per second.
func (in *interp) rate() int {
	if err := checkRate(in.args()); err != nil {
		in.L.RaiseError("%v", err)
	}
	if in.ctl.SetRate == nil {
		in.argError("rate", "this run has no workload rate to change")
	}
	in.ctl.SetRate(float64(in.L.Get(1).(lua.LNumber)))
	return 0
}
