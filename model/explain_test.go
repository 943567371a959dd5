package model

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/splitbrain/splitbrain/harness/history"
)

func assertFacts(t *testing.T, res Linearizability, anomaly string, facts ...string) {
	t.Helper()
	if res.Valid != Invalid {
		t.Fatalf("valid = %v, want false", res.Valid)
	}
	if res.Anomaly != anomaly {
		t.Errorf("anomaly = %q, want %q", res.Anomaly, anomaly)
	}
	for _, f := range facts {
		if !strings.Contains(res.Explanation, f) {
			t.Errorf("explanation lacks %q", f)
		}
	}
	if t.Failed() {
		t.Logf("explanation: %s", res.Explanation)
	}
}

// served builds a builder whose processes 0, 1, 2 and 3 are served by
// nodes n1, n2, n3 and n4.
func served() *builder {
	b := newBuilder()
	b.nodes = map[int]string{0: "n1", 1: "n2", 2: "n3", 3: "n4"}
	return b
}

func TestExplainStaleRead(t *testing.T) {
	b := served().
		at(1).write(0, k, "1").
		at(1.5).nemesis(history.FaultPartition, "halves [n1 n2] [n3 n4 n5]").
		at(1.9).write(0, k, "2"). // completes at 1.910s
		at(2.5).read(1, k, v("2")).
		at(3).inv(2, "read", k).nemesis(history.FaultNote, "midpoint").nemesis(history.FaultAddNode, "n6").okRead(2, v("1")).
		at(5).nemesis(history.FaultHeal, "")
	res := check(t, b.events, Options{})
	if strings.Contains(res.Explanation, "midpoint") {
		t.Errorf("a scenario note is reported as a fault: %s", res.Explanation)
	}
	assertFacts(t, res, AnomalyStaleRead,
		`Key "k"`,
		`a read by process 2 on node n3 (invoked at 3.000s, returned at 3.030s) saw "1"`,
		`the write of "2" by process 0 on node n1 had already completed at 1.910s (invoked at 1.900s)`,
		`after the write of "1" by process 0 on node n1 (invoked at 1.000s, completed at 1.010s) had completed`,
		`should have seen "2"`,
		`a read by process 1 on node n2 returned "2" at 2.510s`,
		`The read ran during partition halves [n1 n2] [n3 n4 n5] (from 1.500s to 5.000s); add-node n6 (at 3.020s).`,
	)
}

func TestExplainPhantomRead(t *testing.T) {
	b := served().
		at(1).write(0, k, "1").
		at(2).nemesis(history.FaultKill, "n3").
		at(3).read(2, k, v("42"))
	res := check(t, b.events, Options{})
	assertFacts(t, res, AnomalyPhantomRead,
		`a read by process 2 on node n3 (invoked at 3.000s, returned at 3.010s) saw "42"`,
		`no operation ever wrote "42" to this key`,
		`It should have seen "1", from the write of "1" by process 0 on node n1 (invoked at 1.000s, completed at 1.010s)`,
		`The read ran during kill n3 (from 2.000s, still in effect when the history ended).`,
	)
}

func TestExplainLostWrite(t *testing.T) {
	b := served().
		at(1).write(0, k, "1").
		at(2).nemesis(history.FaultKill, "n1").
		at(2.5).write(1, k, "2").
		at(3).nemesis(history.FaultRestart, "n1").
		at(4).read(2, k, v("1")).
		at(5).read(3, k, v("1"))
	res := check(t, b.events, Options{})
	assertFacts(t, res, AnomalyLostWrite,
		`the write of "2" by process 1 on node n2 was acknowledged at 2.510s (invoked at 2.500s) and then lost`,
		`no operation ever observed "2"`,
		`a read by process 2 on node n3 (invoked at 4.000s, returned at 4.010s) saw the older value "1"`,
		`should have seen "2"`,
		`The write ran during kill n1 (from 2.000s to 3.000s).`,
		`The read ran while no fault was in effect.`,
	)
}

func TestExplainCASAgainstOverwrittenValue(t *testing.T) {
	b := served().
		at(1).write(0, k, "1").
		at(2).write(1, k, "2").
		at(3).nemesis(history.FaultPause, "n3").
		at(4).cas(2, k, "1", "3").
		at(6).nemesis(history.FaultResume, "n3")
	res := check(t, b.events, Options{})
	assertFacts(t, res, AnomalyCAS,
		`a cas from "1" to "3" by process 2 on node n3 (invoked at 4.000s, returned at 4.010s) succeeded`,
		`the write of "2" by process 1 on node n2 had already completed at 2.010s`,
		`"1" was no longer the value and the cas should have failed`,
		`The cas ran during pause n3 (from 3.000s to 6.000s).`,
	)
}

// TestExplainBlamesTheBlockedRead: in a longer history the explaining
// search's longest order, not the first operations, locates the culprit;
// the search covers a window of the operations around it.
func TestExplainBlamesTheBlockedRead(t *testing.T) {
	b := served()
	for i := 0; i < 20; i++ {
		val := string(rune('a' + i))
		b.write(i%2, k, val).read(2, k, v(val))
	}
	b.at(10).read(3, k, v("c"))
	b.write(0, k, "z").read(1, k, v("z"))
	res := check(t, b.events, Options{})
	assertFacts(t, res, AnomalyStaleRead,
		`a read by process 3 on node n4 (invoked at 10.000s, returned at 10.010s) saw "c"`,
		`the write of "t" by process 1 on node n2 had already completed`,
		`should have seen "t"`,
		`The longest linearizable order the checker found for the 8 operations around the failure (invoked from 0.660s, or running then, to 10.000s) covers 7 of them.`,
	)
}

func TestExplanationIsDeterministic(t *testing.T) {
	b := served().
		inv(0, "write", k, v("1")).inv(1, "write", k, v("2")).
		read(2, k, v("1")).read(2, k, v("2")).read(3, k, v("1")).ok(0).ok(1).
		write(0, "j", "1").read(1, "j", v("9"))
	first := check(t, b.events, Options{})
	for i := 0; i < 20; i++ {
		if again := check(t, b.events, Options{}); again.Explanation != first.Explanation || again.Anomaly != first.Anomaly {
			t.Fatalf("run %d differs:\n%s\n%s", i, first.Explanation, again.Explanation)
		}
	}
	if first.FirstFailingKey != "j" {
		t.Errorf("first failing key %q, want j (sorts first)", first.FirstFailingKey)
	}
}

// TestExplainWithoutPrefix: when the explaining check yields nothing, the
// explanation still finds an operation the history proves stale.
func TestExplainWithoutPrefix(t *testing.T) {
	b := served().at(1).write(0, k, "1").at(2).write(1, k, "2").at(3).read(2, k, v("2")).at(4).read(3, k, v("1"))
	h, err := newKVHistory(b.events, nil)
	if err != nil {
		t.Fatal(err)
	}
	ex := explainKey(h, k, nil, nil) // no search
	if ex.anomaly != AnomalyStaleRead || !strings.Contains(ex.text, `a read by process 3 on node n4 (invoked at 4.000s, returned at 4.010s) saw "1"`) {
		t.Fatalf("anomaly %q: %s", ex.anomaly, ex.text)
	}
	ex = explainKey(h, "nothing-wrong", nil, nil)
	if ex.anomaly != AnomalyOther || !strings.Contains(ex.text, "found no single operation to blame") {
		t.Fatalf("anomaly %q: %s", ex.anomaly, ex.text)
	}
}

// Registers that write the same value many times (Jepsen's write values
// from 0 to 4) have writes of a value after the operation being explained:
// an explanation may only cite writes that could have caused what it
// explains. On 1acf2a1 this one cited the writes at 10s and 11s ("the write
// of "0" by process 1 (invoked at 11.000s ...) began after the write of "3"
// by process 0 (invoked at 10.000s ...)") for a read that returned at 4.010s.
func TestExplainDuplicateValuesCiteWritesInTime(t *testing.T) {
	b := served().
		at(1).write(0, k, "3").
		at(2).inv(1, history.FWrite, k, v("0")).
		at(3).read(2, k, v("0")).
		at(4).read(3, k, v("3")). // stale: "0" was written after the only "3" in time
		at(5).ok(1).
		at(10).write(0, k, "3").
		at(11).write(1, k, "0").
		at(12).read(2, k, v("0"))
	res := check(t, b.events, Options{})
	assertFacts(t, res, AnomalyStaleRead,
		`a read by process 3 on node n4 (invoked at 4.000s, returned at 4.010s) saw "3"`,
		`a read by process 2 on node n3 had already returned "0" at 3.010s`,
		`the write of "0" by process 1 on node n2 (invoked at 2.000s, completed at 5.000s) began after the write of "3" by process 0 on node n1 (invoked at 1.000s, completed at 1.010s) had completed`,
	)
	assertCitesNoLaterOp(t, res, 4.01)
}

// A lost write whose value is written again later: the later observation
// of the value is explained by the later write, not by the lost one, and
// the stale read's value came from the write before it, not from a later
// write of the same value.
func TestExplainDuplicateValuesLostWrite(t *testing.T) {
	b := served().
		at(1).write(0, k, "1").
		at(2).write(1, k, "2").
		at(3).read(2, k, v("1")). // the acknowledged "2" is lost
		at(10).write(1, k, "2").
		at(11).read(3, k, v("2")).
		at(20).write(0, k, "1")
	res := check(t, b.events, Options{})
	assertFacts(t, res, AnomalyLostWrite,
		`the write of "2" by process 1 on node n2 was acknowledged at 2.010s (invoked at 2.000s) and then lost: no operation that could have seen this write observed "2"`,
		`a read by process 2 on node n3 (invoked at 3.000s, returned at 3.010s) saw the older value "1", written by the write of "1" by process 0 on node n1 (invoked at 1.000s, completed at 1.010s)`,
	)
	assertCitesNoLaterOp(t, res, 3.01)
}

// A read of a value whose only write invoked in time failed is an aborted
// read, even if the value is written successfully later.
func TestExplainDuplicateValuesAbortedRead(t *testing.T) {
	b := served().
		at(1).inv(0, history.FWrite, k, v("5")).fail(0).
		at(2).read(1, k, v("5")).
		at(10).write(0, k, "5")
	res := check(t, b.events, Options{})
	assertFacts(t, res, AnomalyAbortedRead,
		`saw "5", but the only operation that wrote "5" before the read returned, the write of "5" by process 0 on node n1 (invoked at 1.000s, failed at 1.010s), failed`,
	)
	assertCitesNoLaterOp(t, res, 2.01)
}

// assertCitesNoLaterOp: every operation the explanation cites was invoked
// by latest (seconds), when the operation explained returned: only those
// can have caused what it saw.
func assertCitesNoLaterOp(t *testing.T, res Linearizability, latest float64) {
	t.Helper()
	for _, m := range regexp.MustCompile(`invoked at ([0-9]+\.[0-9]{3})s`).FindAllStringSubmatch(res.Explanation, -1) {
		if sec, _ := strconv.ParseFloat(m[1], 64); sec > latest {
			t.Errorf("the explanation cites an operation invoked at %ss, after the operation explained returned at %.3fs: %s", m[1], latest, res.Explanation)
		}
	}
}
