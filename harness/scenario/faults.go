package scenario

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/splitbrain/splitbrain/harness/history"
	"github.com/splitbrain/splitbrain/nemesis"
)

// result says what a fault function returns to the script.
type result int

const (
	returnNothing   result = iota
	returnNodes            // a list of the nodes the op acted on (events of the op's action without error)
	returnNewNodes         // a list of the nodes added (replace)
	returnNewNode          // the node added, or nil (add_node)
	returnPartition        // the description of the partition installed, or nil
)

// faultFunc is a Lua function that carries out one nemesis op. Its
// arguments become the words of the op's text form, which nemesis parses
// exactly as it parses a schedule line: the same vocabulary, the same
// checks, the same messages.
type faultFunc struct {
	name   string // the Lua name
	kind   nemesis.Kind
	usage  string
	args   func(args []lua.LValue) ([]string, error)
	result result
	action string // returnNodes: the history action whose nodes are returned
}

var faultFuncs = []faultFunc{
	{name: "partition", kind: nemesis.Partition, usage: `partition(shape [, target [, target]])`, args: partitionArgs, result: returnPartition},
	{name: "heal", kind: nemesis.Heal, usage: `heal()`, args: noArgs},
	{name: "heal_all", kind: nemesis.HealAllKind, usage: `heal_all()`, args: noArgs},
	{name: "packet", kind: nemesis.Packet, usage: `packet{loss=0.1, dup=0.05, reorder=0.1, delay=0.02, jitter="10ms", only="entries", links="all"}`, args: packetArgs},
	{name: "kill", kind: nemesis.Kill, usage: `kill(target)`, args: oneTarget, result: returnNodes, action: history.FaultKill},
	{name: "restart", kind: nemesis.Restart, usage: `restart([target])`, args: optTarget, result: returnNodes, action: history.FaultRestart},
	{name: "pause", kind: nemesis.Pause, usage: `pause(target)`, args: oneTarget, result: returnNodes, action: history.FaultPause},
	{name: "resume", kind: nemesis.Resume, usage: `resume([target])`, args: optTarget, result: returnNodes, action: history.FaultResume},
	{name: "skew", kind: nemesis.Skew, usage: `skew(target, rate)`, args: skewArgs, result: returnNodes, action: history.FaultClock},
	{name: "strobe", kind: nemesis.Strobe, usage: `strobe(target, low, high, period)`, args: strobeArgs, result: returnNodes, action: history.FaultClock},
	{name: "clock_reset", kind: nemesis.ClockReset, usage: `clock_reset([target])`, args: optTarget, result: returnNodes, action: history.FaultClockReset},
	{name: "lose_unsynced", kind: nemesis.LoseUnsynced, usage: `lose_unsynced(target)`, args: oneTarget, result: returnNodes, action: history.FaultLoseUnsynced},
	{name: "torn_write", kind: nemesis.TornWrite, usage: `torn_write(target)`, args: oneTarget, result: returnNodes, action: history.FaultTornWrite},
	{name: "wipe", kind: nemesis.Wipe, usage: `wipe(target)`, args: oneTarget, result: returnNodes, action: history.FaultWipe},
	{name: "stall_disk", kind: nemesis.StallDisk, usage: `stall_disk(target)`, args: oneTarget, result: returnNodes, action: history.FaultStallDisk},
	{name: "unstall_disk", kind: nemesis.UnstallDisk, usage: `unstall_disk([target])`, args: optTarget, result: returnNodes, action: history.FaultUnstallDisk},
	{name: "add_node", kind: nemesis.AddNode, usage: `add_node([learner])`, args: addNodeArgs, result: returnNewNode},
	{name: "remove_node", kind: nemesis.RemoveNode, usage: `remove_node(target)`, args: oneTarget, result: returnNodes, action: history.FaultRemoveNode},
	{name: "promote", kind: nemesis.Promote, usage: `promote(target)`, args: oneTarget, result: returnNodes, action: nemesis.FaultPromote},
	{name: "replace", kind: nemesis.Replace, usage: `replace(target)`, args: oneTarget, result: returnNewNodes},
	{name: "snapshot_isolate", kind: nemesis.SnapshotIsolate, usage: `snapshot_isolate(target [, {gap=200, timeout=20}])`, args: snapshotArgs, result: returnPartition},
}

// buildOp turns a fault function's arguments into a nemesis op. The error
// is "fn: problem", as the script should see it.
func (f *faultFunc) buildOp(args []lua.LValue) (nemesis.Op, error) {
	words, err := f.args(args)
	if err != nil {
		return nemesis.Op{}, fmt.Errorf("%s: %v (usage: %s)", f.name, err, f.usage)
	}
	for _, w := range words {
		if w == "" || strings.ContainsAny(w, " \t\r\n#") {
			return nemesis.Op{}, fmt.Errorf("%s: bad argument %q: no spaces or '#' (a list of nodes is \"n1,n3\" or {\"n1\", \"n3\"})", f.name, w)
		}
	}
	text := "0s " + string(f.kind)
	if len(words) > 0 {
		text += " " + strings.Join(words, " ")
	}
	s, err := nemesis.ParseString(text, "lua")
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), "lua:1: ")
		msg = strings.TrimPrefix(msg, string(f.kind)+": ")
		return nemesis.Op{}, fmt.Errorf("%s: %s", f.name, msg)
	}
	return s.Events[0].Op, nil
}

func noArgs(args []lua.LValue) ([]string, error) {
	if len(args) != 0 {
		return nil, fmt.Errorf("takes no arguments, got %d", len(args))
	}
	return nil, nil
}

func oneTarget(args []lua.LValue) ([]string, error) {
	if len(args) != 1 {
		return nil, fmt.Errorf("takes one target, got %d arguments", len(args))
	}
	t, err := targetArg(args[0])
	return []string{t}, err
}

// optTarget is a healer's target: all of what the nemesis did, unless
// narrowed.
func optTarget(args []lua.LValue) ([]string, error) {
	if len(args) == 0 || (len(args) == 1 && args[0] == lua.LNil) {
		return []string{"all"}, nil
	}
	return oneTarget(args)
}

func partitionArgs(args []lua.LValue) ([]string, error) {
	if len(args) == 0 {
		return nil, errors.New("missing shape")
	}
	shape, ok := args[0].(lua.LString)
	if !ok {
		return nil, fmt.Errorf("the shape must be a string like \"halves\", got %s", typeOf(args[0]))
	}
	words := []string{string(shape)}
	for _, a := range args[1:] {
		t, err := targetArg(a)
		if err != nil {
			return nil, err
		}
		words = append(words, t)
	}
	return words, nil
}

func skewArgs(args []lua.LValue) ([]string, error) {
	if len(args) != 2 {
		return nil, fmt.Errorf("takes a target and a rate, got %d arguments", len(args))
	}
	t, err := targetArg(args[0])
	if err != nil {
		return nil, err
	}
	r, err := numberArg("rate", args[1])
	return []string{t, r}, err
}

func strobeArgs(args []lua.LValue) ([]string, error) {
	if len(args) != 4 {
		return nil, fmt.Errorf("takes a target, a low rate, a high rate and a period, got %d arguments", len(args))
	}
	t, err := targetArg(args[0])
	if err != nil {
		return nil, err
	}
	lo, err := numberArg("low rate", args[1])
	if err != nil {
		return nil, err
	}
	hi, err := numberArg("high rate", args[2])
	if err != nil {
		return nil, err
	}
	p, err := durationArg("period", args[3])
	return []string{t, lo, hi, p}, err
}

func addNodeArgs(args []lua.LValue) ([]string, error) {
	switch {
	case len(args) == 0:
		return nil, nil
	case len(args) > 1:
		return nil, fmt.Errorf("takes at most one argument, got %d", len(args))
	}
	switch v := args[0]; v {
	case lua.LNil, lua.LFalse, lua.LString("voter"):
		return nil, nil
	case lua.LTrue, lua.LString("learner"):
		return []string{"learner"}, nil
	default:
		return nil, fmt.Errorf("want nothing, \"voter\", \"learner\" or true (a learner), got %s", typeOf(v))
	}
}

// options reads a table of named options in the order of keys; an
// unknown key is an error.
func options(v lua.LValue, keys []string, each func(key string, val lua.LValue) (string, error)) ([]string, error) {
	t, ok := v.(*lua.LTable)
	if !ok {
		return nil, fmt.Errorf("want a table of options {%s}, got %s", strings.Join(keys, "=…, ")+"=…", typeOf(v))
	}
	var bad error
	t.ForEach(func(k, _ lua.LValue) {
		ks, ok := k.(lua.LString)
		if bad == nil && (!ok || !contains(keys, string(ks))) {
			bad = fmt.Errorf("unknown option %s (want %s)", quoted(k), strings.Join(keys, ", "))
		}
	})
	if bad != nil {
		return nil, bad
	}
	var words []string
	for _, k := range keys {
		val := t.RawGetString(k)
		if val == lua.LNil {
			continue
		}
		w, err := each(k, val)
		if err != nil {
			return nil, err
		}
		words = append(words, k+"="+w)
	}
	return words, nil
}

func packetArgs(args []lua.LValue) ([]string, error) {
	if len(args) != 1 {
		return nil, fmt.Errorf("takes one table of options, got %d arguments", len(args))
	}
	return options(args[0], []string{"loss", "dup", "reorder", "delay", "jitter", "only", "links"}, func(k string, v lua.LValue) (string, error) {
		switch k {
		case "loss", "dup", "reorder":
			return numberArg(k, v)
		case "delay", "jitter":
			return durationArg(k, v)
		case "only":
			s, ok := v.(lua.LString)
			if !ok {
				return "", fmt.Errorf("only: want a message class (\"entries\"), got %s", typeOf(v))
			}
			return string(s), nil
		}
		return targetArg(v) // links: "all", a target, or {"n1->n2", …}
	})
}

func snapshotArgs(args []lua.LValue) ([]string, error) {
	if len(args) < 1 || len(args) > 2 {
		return nil, fmt.Errorf("takes a target and an optional table of options, got %d arguments", len(args))
	}
	t, err := targetArg(args[0])
	if err != nil {
		return nil, err
	}
	words := []string{t}
	if len(args) == 2 && args[1] != lua.LNil {
		opts, err := options(args[1], []string{"gap", "timeout"}, func(k string, v lua.LValue) (string, error) {
			if k == "timeout" {
				return durationArg(k, v)
			}
			n, ok := v.(lua.LNumber)
			if !ok || float64(n) != math.Trunc(float64(n)) {
				return "", fmt.Errorf("gap: want a whole number of log entries, got %s", typeOf(v))
			}
			return strconv.FormatInt(int64(n), 10), nil
		})
		if err != nil {
			return nil, err
		}
		words = append(words, opts...)
	}
	return words, nil
}

// targetArg reads a target: a selector or node name ("minority", "n3",
// "n1,n3") or a list of node names ({"n1", "n3"}, as nodes() returns).
func targetArg(v lua.LValue) (string, error) {
	switch v := v.(type) {
	case lua.LString:
		return string(v), nil
	case *lua.LTable:
		n := v.Len()
		if n == 0 {
			return "", errors.New("the list of nodes is empty")
		}
		parts := make([]string, n)
		for i := 1; i <= n; i++ {
			s, ok := v.RawGetInt(i).(lua.LString)
			if !ok {
				return "", fmt.Errorf("element %d of the list of nodes is %s, not a node name", i, typeOf(v.RawGetInt(i)))
			}
			parts[i-1] = string(s)
		}
		return strings.Join(parts, ","), nil
	}
	return "", fmt.Errorf("want a target (\"minority\", \"leader\", \"n3\", \"n1,n3\" or a list of node names), got %s", typeOf(v))
}

func numberArg(what string, v lua.LValue) (string, error) {
	n, ok := v.(lua.LNumber)
	if !ok {
		return "", fmt.Errorf("%s: want a number, got %s", what, typeOf(v))
	}
	return strconv.FormatFloat(float64(n), 'g', -1, 64), nil
}

// durationArg reads a duration: a number of seconds or a Go duration
// string ("200ms").
func durationArg(what string, v lua.LValue) (string, error) {
	switch v := v.(type) {
	case lua.LNumber:
		d, err := seconds(float64(v))
		if err != nil {
			return "", fmt.Errorf("%s: %v", what, err)
		}
		return d.String(), nil
	case lua.LString:
		return string(v), nil
	}
	return "", fmt.Errorf("%s: want seconds (a number) or a duration like \"200ms\", got %s", what, typeOf(v))
}

// seconds converts a non-negative number of seconds to a duration.
func seconds(s float64) (time.Duration, error) {
	if math.IsNaN(s) || s < 0 || s > float64(math.MaxInt64)/1e9 {
		return 0, fmt.Errorf("want a non-negative number of seconds, got %s", strconv.FormatFloat(s, 'g', -1, 64))
	}
	return time.Duration(math.Round(s * 1e9)), nil
}

// typeOf describes a value for an error message: its type, and the value
// itself when short.
func typeOf(v lua.LValue) string {
	switch v := v.(type) {
	case lua.LString:
		return fmt.Sprintf("string %q", string(v))
	case lua.LNumber:
		return "number " + v.String()
	case lua.LBool:
		return "boolean " + v.String()
	}
	return v.Type().String()
}

// quoted is a key for a message: "name" for strings, else its value.
func quoted(v lua.LValue) string {
	if s, ok := v.(lua.LString); ok {
		return strconv.Quote(string(s))
	}
	return format(v)
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// capture passes nemesis events on to the run's recorder and keeps those
// recorded while an op is applied, for the function's return value. The
// background part of an op (a strobe, a snapshot-isolate's heal) records
// after the op returns; by then capture only passes events on.
type capture struct {
	rec    nemesis.Recorder
	mu     sync.Mutex
	active bool
	events []history.Event
}

func (c *capture) Record(e history.Event) history.Event {
	if c.rec != nil {
		e = c.rec.Record(e)
	}
	c.mu.Lock()
	if c.active {
		c.events = append(c.events, e)
	}
	c.mu.Unlock()
	return e
}

// apply carries out a fault function's op and pushes its results.
func (in *interp) apply(f *faultFunc) int {
	L := in.L
	args := make([]lua.LValue, L.GetTop())
	for i := range args {
		args[i] = L.Get(i + 1)
	}
	op, err := f.buildOp(args)
	if err != nil {
		L.RaiseError("%s", err)
	}
	in.checkStop()
	c := &capture{rec: in.rec, active: true}
	if err := nemesis.Apply(in.w, op, c); err != nil {
		L.RaiseError("%s: %v", f.name, err)
	}
	c.mu.Lock()
	events := c.events
	c.active = false
	c.mu.Unlock()

	list := func(action string) int {
		t := L.NewTable()
		for _, e := range events {
			if e.F == action && e.Node != "" && e.Error == "" {
				t.Append(lua.LString(e.Node))
			}
		}
		L.Push(t)
		return 1
	}
	switch f.result {
	case returnNodes:
		return list(f.action)
	case returnNewNodes:
		return list(history.FaultAddNode)
	case returnNewNode:
		for _, e := range events {
			if e.F == history.FaultAddNode && e.Node != "" {
				L.Push(lua.LString(e.Node))
				return 1
			}
		}
		L.Push(lua.LNil)
		return 1
	case returnPartition:
		for _, e := range events {
			if e.F == history.FaultPartition && e.Error == "" && e.Value != nil {
				L.Push(lua.LString(*e.Value))
				return 1
			}
		}
		L.Push(lua.LNil)
		return 1
	}
	return 0
}
