package model

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/splitbrain/splitbrain/harness/history"
)

func TestLiveness(t *testing.T) {
	const bound = 10 * time.Second
	for _, tc := range []struct {
		name       string
		b          *builder
		valid      Validity
		heal       int64
		read, wrte int64
		detail     []string
	}{
		{"recovers after the final heal", newBuilder().
			at(1).nemesis(history.FaultPartition, "halves").at(10).nemesis(history.FaultHeal, "").
			at(20).nemesis(history.FaultKill, "n1").at(28).nemesis(history.FaultRestart, "n1").
			at(29.2).write(0, k, "1").at(29.3).read(1, k, v("1")),
			Valid, 28e9, 1.31e9, 1.21e9,
			[]string{"first ok write 1.210s after the final heal at 28.000s", "first ok read 1.310s after", "within the 10s bound"}},
		{"no faults: measured from the start", newBuilder().at(0.5).write(0, k, "1").read(1, k, v("1")),
			Valid, 0, 0.53e9, 0.51e9, []string{"the start of the test (there were no faults)"}},
		{"operations during the fault do not count", newBuilder().
			at(1).nemesis(history.FaultPartition, "halves").write(0, k, "1").read(1, k, v("1")).
			at(2).nemesis(history.FaultHeal, "").at(20).write(0, k, "2"),
			Invalid, 2e9, -1, 18.01e9, []string{"no ok read and no ok write within 10s of the final heal at 2.000s", "no ok read after", "the history runs to 20.010s"}},
		{"a cas counts as a write; only reads missing", newBuilder().
			at(1).nemesis(history.FaultPause, "n2").at(2).nemesis(history.FaultResume, "n2").
			at(3).write(0, k, "1").cas(0, k, "1", "2").at(13).read(1, k, v("2")),
			Invalid, 2e9, 11.01e9, 1.01e9, []string{"no ok read within 10s", "first ok read 11.010s after"}},
		{"history ends before the bound", newBuilder().
			at(1).nemesis(history.FaultPartition, "halves").at(2).nemesis(history.FaultHeal, "").
			at(3).write(0, k, "1").inv(1, "read", k).fail(1),
			Unknown, 2e9, -1, 1.01e9, []string{"the history ends at 3.030s, 1.030s after the final heal at 2.000s, before the 10s bound elapsed, with no ok read yet"}},
		{"failed and info operations do not count", newBuilder().
			at(1).inv(0, "write", k, v("1")).info(0).inv(1, "read", k).fail(1).at(30).nemesis(history.FaultNote, "bye"),
			Invalid, 0, -1, -1, []string{"no ok read and no ok write"}},
		{"a fault never healed", newBuilder().
			at(1).nemesis(history.FaultKill, "n1").at(2).write(0, k, "1").read(0, k, v("1")),
			Unknown, -1, -1, -1, []string{`the fault "kill n1" from 1.000s was never healed`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := CheckLiveness(tc.b.events, bound)
			if l.Valid != tc.valid || l.FinalHeal != tc.heal || l.FirstOKRead != tc.read || l.FirstOKWrite != tc.wrte {
				t.Errorf("got valid %v heal %d read %d write %d; want %v %d %d %d",
					l.Valid, l.FinalHeal, l.FirstOKRead, l.FirstOKWrite, tc.valid, tc.heal, tc.read, tc.wrte)
			}
			for _, d := range tc.detail {
				if !strings.Contains(l.Detail, d) {
					t.Errorf("detail lacks %q: %s", d, l.Detail)
				}
			}
		})
	}
}

func TestLivenessDefaultBoundAndJSON(t *testing.T) {
	b := newBuilder().at(9).write(0, k, "1").read(0, k, v("1"))
	l := CheckLiveness(b.events, 0)
	if l.Bound != int64(DefaultLivenessBound) || l.Valid != Valid {
		t.Fatalf("bound %d valid %v", l.Bound, l.Valid)
	}
	out, err := json.Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"valid":true,"final_heal_ns":0,"bound_ns":10000000000,"first_ok_read_ns":9030000000,"first_ok_write_ns":9010000000,"history_end_ns":9030000000,"detail":"first ok write 9.010s after the start of the test (there were no faults); first ok read 9.030s after, within the 10s bound"}`
	if string(out) != want {
		t.Errorf("JSON\n got %s\nwant %s", out, want)
	}
}

func TestStats(t *testing.T) {
	b := newBuilder().write(0, k, "1").read(1, k, v("1")).
		inv(0, "cas", k, v("1"), v("2")).fail(0).
		inv(0, "cas", k, v("1"), v("2")).info(0).
		nemesis(history.FaultPartition, "halves").nemesis(history.FaultHeal, "").nemesis(history.FaultHeal, "").
		inv(1, "write", k, v("3")) // never completes: info
	s := ComputeStats(b.events)
	out, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"cas":{"fail":1,"info":1},"nemesis":{"heal":2,"partition":1},"read":{"ok":1},"write":{"info":1,"ok":1}}`
	if string(out) != want {
		t.Errorf("JSON\n got %s\nwant %s", out, want)
	}
	if got, want := s.String(), "cas fail=1 info=1\nnemesis heal=2 partition=1\nread ok=1\nwrite info=1 ok=1\n"; got != want {
		t.Errorf("String\n got %q\nwant %q", got, want)
	}
}

// stallHistory is a partition at 1s, with a connected majority n1 n2 n3,
// healed at 9s; clients write to the given nodes every 100ms from 1.05s
// to 9s, each write ok if ok says so; after the heal everything works.
// extra nemesis events are added at their times.
func stallHistory(nodes []string, ok func(at int64) bool, extra ...history.Event) []history.Event {
	const s = int64(1e9)
	var evs []history.Event
	add := func(e history.Event) {
		e.Index = int64(len(evs))
		evs = append(evs, e)
	}
	nem := func(at int64, f, v string) {
		add(history.Event{Time: at, Type: history.Info, Process: history.Nemesis, F: f, Value: history.Str(v)})
	}
	op := func(at int64, p int, node string, typ history.Type) {
		add(history.Event{Time: at, Type: typ, Process: history.Process(p), F: history.FWrite, Key: "k", Value: history.Str(fmt.Sprint(at)), Node: node})
	}
	nem(1*s, history.FaultPartition, history.WithConnectedMajority("one-way followers leader", []string{"n1", "n2", "n3"}))
	for at := 1*s + s/20; at < 9*s; at += s / 10 {
		for len(extra) > 0 && extra[0].Time <= at {
			add(extra[0])
			extra = extra[1:]
		}
		for p, node := range nodes {
			op(at, p, node, history.Invoke)
			typ := history.Fail
			if ok(at) {
				typ = history.OK
			}
			op(at+1, p, node, typ)
		}
	}
	nem(9*s, history.FaultHeal, "heal")
	op(10*s, 9, "n1", history.Invoke)
	op(10*s+1, 9, "n1", history.OK)
	add(history.Event{Time: 10*s + 2, Type: history.Invoke, Process: 8, F: history.FRead, Key: "k", Node: "n1"})
	add(history.Event{Time: 10*s + 3, Type: history.OK, Process: 8, F: history.FRead, Key: "k", Value: history.Str("x"), Node: "n1"})
	nem(20*s, history.FaultNote, "end")
	return evs
}

// inFlightAtPartition adds to a stallHistory a write invoked before the
// partition at 1s that completes ok just after it (it had committed
// before the partition took effect).
func inFlightAtPartition(evs []history.Event) []history.Event {
	const s = int64(1e9)
	w := history.Event{Time: s - 1000, Type: history.Invoke, Process: 7, F: history.FWrite, Key: "k", Value: history.Str("early"), Node: "n1"}
	done := w
	done.Time, done.Type = s+1000, history.OK
	var out []history.Event
	for _, e := range evs {
		if e.Time > w.Time && w.Time >= 0 {
			out = append(out, w)
			w.Time = -1
		}
		if e.Time > done.Time && done.Time >= 0 {
			out = append(out, done)
			done.Time = -1
		}
		out = append(out, e)
	}
	for i := range out {
		out[i].Index = int64(i)
	}
	return out
}

func TestPartitionStall(t *testing.T) {
	const s = int64(1e9)
	never := func(int64) bool { return false }
	kill := func(at int64, f string) history.Event {
		return history.Event{Time: at, Type: history.Info, Process: history.Nemesis, F: f, Value: history.Str("n4"), Node: "n4"}
	}
	for _, tc := range []struct {
		name   string
		evs    []history.Event
		valid  Validity
		detail string
	}{
		{"a stall while clients write to the connected majority", stallHistory([]string{"n1", "n4"}, never), Invalid,
			"no ok write within 5.000s of the first write sent to the connected majority during the partition (write to n1 at 1.050s; the partition at 1.000s"},
		{"served during the partition", stallHistory([]string{"n1", "n4"}, func(at int64) bool { return at > 3*s }), Valid, ""},
		{"served, but later than the bound", stallHistory([]string{"n1"}, func(at int64) bool { return at > 7*s }), Invalid, "no ok write within 5.000s"},
		{"no client talks to the majority: nothing to observe", stallHistory([]string{"n4", "n5"}, never), Valid, ""},
		{"another fault overlapped, so the partition proves nothing",
			stallHistory([]string{"n1"}, never, kill(2*s, history.FaultKill), kill(8*s, history.FaultRestart)), Valid, ""},
		{"a write in flight when the partition began completes after it: no progress under the partition",
			inFlightAtPartition(stallHistory([]string{"n1", "n4"}, never)), Invalid, "no ok write within 5.000s"},
		{"another fault was refused: it did not overlap",
			stallHistory([]string{"n1"}, never, func() history.Event { e := kill(2*s, history.FaultTornWrite); e.Error = "unsupported"; return e }()), Invalid, "no ok write"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := CheckLiveness(tc.evs, 5*time.Second)
			if l.Valid != tc.valid || !strings.Contains(l.Detail, tc.detail) {
				t.Fatalf("got %s: %s\nwant %s: %s", l.Valid, l.Detail, tc.valid, tc.detail)
			}
		})
	}
}
