package nemesis

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/splitbrain/splitbrain/harness/world"
)

// Parse reads a schedule in its text form: one event a line, "<time>
// <op> <args…>", with '#' comments and blank lines. Times are since the
// test started ("5.0s", "12.5s", or any Go duration such as "500ms") and
// must not decrease. Errors name the place as name:line.
func Parse(r io.Reader, name string) (Schedule, error) {
	s, _, err := parse(r, name)
	return s, err
}

// parse is Parse, also returning the line of each event.
func parse(r io.Reader, name string) (Schedule, []int, error) {
	var s Schedule
	var lines []int
	br := bufio.NewReader(r)
	prevLine := 0
	for line := 1; ; line++ {
		text, err := br.ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return Schedule{}, nil, fmt.Errorf("%s:%d: read: %w", name, line, err)
		}
		if text == "" && err != nil {
			break
		}
		e, ok, perr := parseLine(text)
		if perr != nil {
			return Schedule{}, nil, fmt.Errorf("%s:%d: %w", name, line, perr)
		}
		if ok {
			if n := len(s.Events); n > 0 && e.At < s.Events[n-1].At {
				return Schedule{}, nil, fmt.Errorf("%s:%d: time %s is before %s of the event on line %d (events must be in time order)",
					name, line, fmtAt(e.At), fmtAt(s.Events[n-1].At), prevLine)
			}
			s.Events = append(s.Events, e)
			lines = append(lines, line)
			prevLine = line
		}
		if err != nil {
			break
		}
	}
	return s, lines, nil
}

// ParseString parses a schedule held in a string.
func ParseString(text, name string) (Schedule, error) { return Parse(strings.NewReader(text), name) }

// parseLine parses one line; ok is false for a blank or comment line.
func parseLine(text string) (e Event, ok bool, err error) {
	if i := strings.IndexByte(text, '#'); i >= 0 {
		text = text[:i]
	}
	if !utf8Valid(text) {
		return Event{}, false, errors.New("line is not valid UTF-8")
	}
	f := strings.Fields(text)
	if len(f) == 0 {
		return Event{}, false, nil
	}
	at, err := parseAt(f[0])
	if err != nil {
		return Event{}, false, err
	}
	if len(f) == 1 {
		return Event{}, false, fmt.Errorf("%s: missing operation after the time (want one of %s)", f[0], kindList())
	}
	op, err := parseOp(f[1:])
	if err != nil {
		return Event{}, false, err
	}
	return Event{At: at, Op: op}, true, nil
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

// parseAt reads an event time: decimal seconds ("12.5s", exact to the
// nanosecond) or a Go duration ("1m30s", "500ms").
func parseAt(s string) (time.Duration, error) {
	if num, ok := strings.CutSuffix(s, "s"); ok && num != "" && strings.Trim(num, "0123456789.") == "" {
		ip, fp, _ := strings.Cut(num, ".")
		if ip != "" && !strings.Contains(fp, ".") && len(fp) <= 9 && (fp != "" || !strings.HasSuffix(num, ".")) {
			sec, err := strconv.ParseInt(ip, 10, 64)
			if err == nil && sec <= math.MaxInt64/int64(time.Second)-1 {
				ns := int64(0)
				if fp != "" {
					ns, _ = strconv.ParseInt(fp+strings.Repeat("0", 9-len(fp)), 10, 64)
				}
				return time.Duration(sec)*time.Second + time.Duration(ns), nil
			}
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("bad time %q (want seconds since the start of the test, like 5.0s or 12.5s)", s)
	}
	return d, nil
}

func kindList() string {
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = string(k)
	}
	return strings.Join(names, ", ")
}

// parseOp parses the fields of an op: the verb and its arguments.
func parseOp(f []string) (Op, error) {
	verb, args := Kind(f[0]), f[1:]
	op := Op{Kind: verb}
	wrap := func(err error) (Op, error) { return Op{}, fmt.Errorf("%s: %w", verb, err) }
	var err error
	switch verb {
	case Partition:
		if len(args) == 0 {
			return wrap(fmt.Errorf("missing shape (want one of %s)", shapeList()))
		}
		op.Shape = Shape(args[0])
		want := 0
		switch op.Shape {
		case Isolate:
			want = 1
		case OneWay:
			want = 2
		default:
			if !slices.Contains(shapes, op.Shape) {
				return wrap(fmt.Errorf("unknown shape %q%s (want one of %s)", args[0], suggest(args[0], shapeNames()), shapeList()))
			}
		}
		if len(args)-1 != want {
			return wrap(fmt.Errorf("%s takes %d argument(s), got %d (%s)", op.Shape, want, len(args)-1, shapeUsage(op.Shape)))
		}
		if want >= 1 {
			if op.Target, err = parseTarget(args[1]); err != nil {
				return wrap(err)
			}
		}
		if want == 2 {
			if op.To, err = parseTarget(args[2]); err != nil {
				return wrap(err)
			}
		}
	case Heal, HealAllKind:
		if len(args) != 0 {
			return wrap(fmt.Errorf("takes no arguments, got %q", strings.Join(args, " ")))
		}
	case Packet:
		if op.Packet, err = parsePacket(args); err != nil {
			return wrap(err)
		}
	case Kill, Restart, Pause, Resume, ClockReset, LoseUnsynced, TornWrite, Wipe, StallDisk, UnstallDisk, RemoveNode, Promote, Replace:
		if len(args) != 1 {
			return wrap(fmt.Errorf("takes one target, got %d arguments (e.g. %s minority, %s n1,n3)", len(args), verb, verb))
		}
		if op.Target, err = parseTarget(args[0]); err != nil {
			return wrap(err)
		}
	case Skew:
		if len(args) != 2 {
			return wrap(fmt.Errorf("want <target> <rate>, got %d arguments (e.g. skew leader 2)", len(args)))
		}
		if op.Target, err = parseTarget(args[0]); err != nil {
			return wrap(err)
		}
		if op.Rate, err = parseRate("rate", args[1]); err != nil {
			return wrap(err)
		}
	case Strobe:
		if len(args) != 4 {
			return wrap(fmt.Errorf("want <target> <low> <high> <period>, got %d arguments (e.g. strobe one 0.5 2 200ms)", len(args)))
		}
		if op.Target, err = parseTarget(args[0]); err != nil {
			return wrap(err)
		}
		if op.Low, err = parseRate("low rate", args[1]); err != nil {
			return wrap(err)
		}
		if op.High, err = parseRate("high rate", args[2]); err != nil {
			return wrap(err)
		}
		if op.Period, err = parsePositiveDuration("period", args[3]); err != nil {
			return wrap(err)
		}
	case AddNode:
		switch {
		case len(args) == 0:
		case len(args) == 1 && args[0] == "learner":
			op.Learner = true
		default:
			return wrap(fmt.Errorf("want nothing or \"learner\", got %q", strings.Join(args, " ")))
		}
	case SnapshotIsolate:
		if len(args) == 0 {
			return wrap(errors.New("missing target (e.g. snapshot-isolate followers gap=200 timeout=20s)"))
		}
		if op.Target, err = parseTarget(args[0]); err != nil {
			return wrap(err)
		}
		kv, err := parseKV(args[1:], []string{"gap", "timeout"})
		if err != nil {
			return wrap(err)
		}
		if v, ok := kv["gap"]; ok {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return wrap(fmt.Errorf("gap=%s: want a positive number of log entries", v))
			}
			op.Gap = n
		}
		if v, ok := kv["timeout"]; ok {
			if op.Timeout, err = parsePositiveDuration("timeout", v); err != nil {
				return wrap(err)
			}
		}
	default:
		return Op{}, fmt.Errorf("unknown operation %q%s (want one of %s)", verb, suggest(string(verb), kindNames()), kindList())
	}
	return op, nil
}

func shapeNames() []string {
	out := make([]string, len(shapes))
	for i, s := range shapes {
		out[i] = string(s)
	}
	return out
}

func shapeList() string { return strings.Join(shapeNames(), ", ") }

func kindNames() []string {
	out := make([]string, len(kinds))
	for i, k := range kinds {
		out[i] = string(k)
	}
	return out
}

func shapeUsage(s Shape) string {
	switch s {
	case Isolate:
		return "partition isolate <target>"
	case OneWay:
		return "partition one-way <from-target> <to-target>"
	}
	return "partition " + string(s)
}

// maxRank bounds a rank in a target: no cluster is larger.
const maxRank = 1000

// parseTarget reads a selector, a comma-separated node list (n1,n3) or a
// comma-separated list of ranks (@1,@3).
func parseTarget(s string) (Target, error) {
	if slices.Contains(selectors, Selector(s)) {
		return Target{Sel: Selector(s)}, nil
	}
	bad := func(detail string) (Target, error) {
		names := make([]string, len(selectors))
		for i, x := range selectors {
			names[i] = string(x)
		}
		return Target{}, fmt.Errorf("bad target %q%s (want one of %s, nodes like n1,n3, or members by rank like @1,@3)", s, detail, strings.Join(names, ", "))
	}
	if strings.HasPrefix(s, "@") {
		var rs []int
		for _, part := range strings.Split(s, ",") {
			r, err := strconv.Atoi(strings.TrimPrefix(part, "@"))
			if err != nil || !strings.HasPrefix(part, "@") || r < 1 || r > maxRank {
				return bad(fmt.Sprintf(": %q is not a member's rank (@1 to @%d)", part, maxRank))
			}
			if slices.Contains(rs, r) {
				return bad(fmt.Sprintf(": @%d listed twice", r))
			}
			rs = append(rs, r)
		}
		return Ranks(rs...), nil
	}
	if !strings.HasPrefix(s, "n") || strings.Contains(s, "=") {
		names := make([]string, len(selectors))
		for i, x := range selectors {
			names[i] = string(x)
		}
		return bad(suggest(s, names))
	}
	var ids []world.NodeID
	for _, part := range strings.Split(s, ",") {
		id, err := world.ParseNodeID(part)
		if err != nil || !strings.HasPrefix(part, "n") {
			return bad(fmt.Sprintf(": %q is not a node name", part))
		}
		if slices.Contains(ids, id) {
			return bad(fmt.Sprintf(": %s listed twice", id))
		}
		ids = append(ids, id)
	}
	return Target{Sel: Explicit, Nodes: world.SortIDs(ids)}, nil
}

func parseRate(what, s string) (float64, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || !(f > 0) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%s %q: want a positive number (1 is real speed, 0.5 half, 2 double)", what, s)
	}
	return f, nil
}

func parsePositiveDuration(what, s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s %q: want a positive duration like 200ms or 2s", what, s)
	}
	return d, nil
}

// parseKV reads key=value arguments, each key at most once.
func parseKV(args, keys []string) (map[string]string, error) {
	out := map[string]string{}
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok || !slices.Contains(keys, k) {
			return nil, fmt.Errorf("bad argument %q (want %s)", a, strings.Join(keysEq(keys), " "))
		}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("%s= given twice", k)
		}
		out[k] = v
	}
	return out, nil
}

func keysEq(keys []string) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k + "=…"
	}
	return out
}

func parsePacket(args []string) (PacketSpec, error) {
	var p PacketSpec
	kv, err := parseKV(args, []string{"loss", "dup", "reorder", "delay", "jitter", "only", "links"})
	if err != nil {
		return p, err
	}
	prob := func(k string, dst *float64) error {
		v, ok := kv[k]
		if !ok {
			return nil
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || !(f >= 0 && f <= 1) {
			return fmt.Errorf("%s=%s: want a probability between 0 and 1", k, v)
		}
		*dst = f
		return nil
	}
	dur := func(k string, dst *time.Duration) error {
		v, ok := kv[k]
		if !ok {
			return nil
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return fmt.Errorf("%s=%s: want a duration like 20ms", k, v)
		}
		*dst = d
		return nil
	}
	for _, err := range []error{prob("loss", &p.Loss), prob("dup", &p.Dup), prob("reorder", &p.Reorder),
		dur("delay", &p.Delay), dur("jitter", &p.Jitter)} {
		if err != nil {
			return p, err
		}
	}
	if p.Loss == 0 && p.Dup == 0 && p.Reorder == 0 && p.Delay == 0 && p.Jitter == 0 {
		return p, errors.New("no fault given (want at least one of loss=, dup=, reorder=, delay=, jitter=)")
	}
	if v, ok := kv["only"]; ok {
		if !slices.Contains(world.Classes, world.Class(v)) {
			return p, fmt.Errorf("only=%s: unknown message class (want only=entries: appends carrying entries, and snapshots)", v)
		}
		p.Only = world.Class(v)
	}
	v, ok := kv["links"]
	switch {
	case !ok || v == "all":
	case strings.Contains(v, "->"):
		for _, part := range strings.Split(v, ",") {
			a, b, _ := strings.Cut(part, "->")
			from, err1 := world.ParseNodeID(a)
			to, err2 := world.ParseNodeID(b)
			if err1 != nil || err2 != nil || !strings.HasPrefix(a, "n") || !strings.HasPrefix(b, "n") || from == to {
				return p, fmt.Errorf("links=%s: bad link %q (want links=all, links=n1->n2,n3->n1 or links=<target>)", v, part)
			}
			l := [2]world.NodeID{from, to}
			if slices.Contains(p.Links, l) {
				return p, fmt.Errorf("links=%s: link %s listed twice", v, part)
			}
			p.Links = append(p.Links, l)
		}
		slices.SortFunc(p.Links, func(x, y [2]world.NodeID) int {
			if x[0] != y[0] {
				return cmpID(x[0], y[0])
			}
			return cmpID(x[1], y[1])
		})
	default:
		t, err := parseTarget(v)
		if err != nil {
			return p, fmt.Errorf("links=%s: %w", v, err)
		}
		p.Of = t
	}
	return p, nil
}

func cmpID(a, b world.NodeID) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// suggest returns ` (did you mean "x"?)` for the option closest to s, if
// close enough to be a typo.
func suggest(s string, options []string) string {
	best, bestD := "", 3
	for _, o := range options {
		if d := EditDistance(s, o); d < bestD {
			best, bestD = o, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// EditDistance is the Levenshtein distance between a and b (large for
// strings over 64 bytes): how "did you mean" suggestions find typos.
func EditDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 1 << 20
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
