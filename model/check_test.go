package model

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/splitbrain/splitbrain/harness/history"
)

const k = "k"

func TestLinearizableHistoriesPass(t *testing.T) {
	for _, tc := range []struct {
		name    string
		initial *string
		b       *builder
	}{
		{"empty", nil, newBuilder()},
		{"sequential", nil, newBuilder().read(0, k, nil).write(0, k, "1").read(1, k, v("1")).write(1, k, "2").read(0, k, v("2"))},
		{"read concurrent with write sees old", nil, newBuilder().write(0, k, "1").
			inv(1, "write", k, v("2")).inv(2, "read", k).okRead(2, v("1")).ok(1).read(2, k, v("2"))},
		{"read concurrent with write sees new", nil, newBuilder().write(0, k, "1").
			inv(1, "write", k, v("2")).inv(2, "read", k).okRead(2, v("2")).ok(1).read(2, k, v("2"))},
		{"concurrent writes in either order", nil, newBuilder().
			inv(0, "write", k, v("1")).inv(1, "write", k, v("2")).ok(0).ok(1).read(2, k, v("1"))},
		{"info write that took effect", nil, newBuilder().write(0, k, "1").
			inv(1, "write", k, v("2")).info(1).read(2, k, v("1")).read(2, k, v("2")).read(3, k, v("2"))},
		{"info write that never took effect", nil, newBuilder().write(0, k, "1").
			inv(1, "write", k, v("2")).info(1).read(2, k, v("1")).read(2, k, v("1"))},
		{"info write that took effect much later", nil, newBuilder().write(0, k, "1").
			inv(1, "write", k, v("2")).info(1).read(2, k, v("1")).write(0, k, "3").read(2, k, v("3")).read(2, k, v("2"))},
		{"invoke never completed took effect", nil, newBuilder().write(0, k, "1").
			inv(1, "write", k, v("2")).read(2, k, v("2"))},
		{"info cas that took effect", nil, newBuilder().write(0, k, "1").
			inv(1, "cas", k, v("1"), v("2")).info(1).read(2, k, v("2"))},
		{"info cas on top of an info write", nil, newBuilder().write(0, k, "1").
			inv(1, "write", k, v("2")).info(1).inv(1, "cas", k, v("2"), v("3")).info(1).read(2, k, v("3"))},
		{"failed write is invisible", nil, newBuilder().write(0, k, "1").
			inv(1, "write", k, v("2")).fail(1).read(2, k, v("1"))},
		{"failed cas is excluded", nil, newBuilder().write(0, k, "1").
			inv(1, "cas", k, v("0"), v("2")).fail(1).read(2, k, v("1"))},
		{"successful cas", nil, newBuilder().write(0, k, "1").cas(1, k, "1", "2").read(2, k, v("2"))},
		{"info read is ignored", nil, newBuilder().write(0, k, "1").inv(1, "read", k).info(1).read(2, k, v("1"))},
		{"initial 0 read before any write", v("0"), newBuilder().read(0, k, v("0")).write(0, k, "1").read(0, k, v("1"))},
		{"initial absent read before any write", nil, newBuilder().read(0, k, nil).write(0, k, "1")},
		{"cas from the initial value", v("0"), newBuilder().cas(0, k, "0", "1").read(1, k, v("1"))},
		{"independent keys", nil, newBuilder().write(0, "a", "1").write(1, "b", "1").read(0, "b", v("1")).read(1, "a", v("1"))},
		{"nemesis events are not operations", nil, newBuilder().nemesis(history.FaultPartition, "halves").
			write(0, k, "1").nemesis(history.FaultHeal, "").read(0, k, v("1"))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := check(t, tc.b.events, Options{Initial: tc.initial})
			if res.Valid != Valid {
				t.Fatalf("valid = %v, want true; explanation: %s", res.Valid, res.Explanation)
			}
			if res.FirstFailingKey != "" || res.Explanation != "" || res.Anomaly != "" {
				t.Errorf("a valid history got a failure report: %+v", res)
			}
		})
	}
}

func TestNonLinearizableHistoriesFail(t *testing.T) {
	for _, tc := range []struct {
		name    string
		initial *string
		b       *builder
		anomaly string
	}{
		{"stale read", nil, newBuilder().write(0, k, "1").write(0, k, "2").read(1, k, v("2")).read(1, k, v("1")), AnomalyStaleRead},
		{"lost write", nil, newBuilder().write(0, k, "1").write(1, k, "2").read(2, k, v("1")).read(2, k, v("1")), AnomalyLostWrite},
		{"read of the initial value after a write", nil, newBuilder().write(0, k, "1").read(1, k, nil), AnomalyLostWrite},
		{"reads disagree on the order of a concurrent write", nil, newBuilder().write(0, k, "1").
			inv(0, "write", k, v("2")).read(1, k, v("2")).read(2, k, v("1")).ok(0), AnomalyStaleRead},
		{"concurrent writes seen in both orders", nil, newBuilder().
			inv(0, "write", k, v("1")).inv(1, "write", k, v("2")).read(2, k, v("1")).read(2, k, v("2")).read(3, k, v("1")).ok(0).ok(1), AnomalyOther},
		{"info write seen, then undone", nil, newBuilder().write(0, k, "1").
			inv(1, "write", k, v("2")).info(1).read(2, k, v("2")).read(2, k, v("1")), AnomalyStaleRead},
		{"read of a failed write", nil, newBuilder().write(0, k, "1").
			inv(1, "write", k, v("2")).fail(1).read(2, k, v("2")), AnomalyAbortedRead},
		{"read of a value only a failed cas wrote", nil, newBuilder().write(0, k, "1").
			inv(1, "cas", k, v("1"), v("2")).fail(1).read(2, k, v("2")), AnomalyAbortedRead},
		{"read of a value never written", nil, newBuilder().write(0, k, "1").read(1, k, v("7")), AnomalyPhantomRead},
		{"read from the future", nil, newBuilder().read(1, k, v("1")).write(0, k, "1"), AnomalyFutureRead},
		{"cas against an overwritten value", nil, newBuilder().write(0, k, "1").write(1, k, "2").cas(2, k, "1", "3"), AnomalyCAS},
		{"initial 0 but read absent", v("0"), newBuilder().read(0, k, nil), AnomalyPhantomRead},
		{"initial absent but read 0", nil, newBuilder().read(0, k, v("0")), AnomalyPhantomRead},
		{"write of initial value lost", v("0"), newBuilder().write(0, k, "1").read(1, k, v("0")), AnomalyLostWrite},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := check(t, tc.b.events, Options{Initial: tc.initial})
			if res.Valid != Invalid {
				t.Fatalf("valid = %v, want false", res.Valid)
			}
			if res.FirstFailingKey != k {
				t.Errorf("first failing key = %q, want %q", res.FirstFailingKey, k)
			}
			if res.Anomaly != tc.anomaly {
				t.Errorf("anomaly = %q, want %q; explanation: %s", res.Anomaly, tc.anomaly, res.Explanation)
			}
			if res.Explanation == "" {
				t.Error("no explanation")
			}
			t.Log(res.Explanation)
		})
	}
}

// TestIndexNotTime: the two operations share a virtual time, so by Time
// they would be concurrent and the read could precede the write. The
// history's index says the write returned before the read was invoked.
func TestIndexNotTime(t *testing.T) {
	b := newBuilder().write(0, k, "1")
	for i := range b.events {
		b.events[i].Time = 5e9
	}
	b.now = 5e9
	b.inv(1, "read", k)
	b.now = 5e9
	b.okRead(1, nil)
	res := check(t, b.events, Options{})
	if res.Valid != Invalid {
		t.Fatalf("valid = %v; the checker must order operations by index, not time", res.Valid)
	}
}

func TestKeysAreReportedSortedWithFirstFailure(t *testing.T) {
	b := newBuilder().
		write(0, "c", "1").read(1, "c", v("9")). // fails
		write(0, "a", "1").read(1, "a", v("1")).
		write(0, "b", "1").read(1, "b", nil). // fails
		inv(2, "write", "d", v("1")).fail(2)
	res := check(t, b.events, Options{})
	want := []KeyResult{{"a", Valid, 2}, {"b", Invalid, 2}, {"c", Invalid, 2}, {"d", Valid, 0}}
	if len(res.Keys) != len(want) {
		t.Fatalf("keys = %+v", res.Keys)
	}
	for i := range want {
		if res.Keys[i] != want[i] {
			t.Errorf("key %d = %+v, want %+v", i, res.Keys[i], want[i])
		}
	}
	if res.Valid != Invalid || res.FirstFailingKey != "b" || res.FailingKeys != 2 {
		t.Errorf("valid %v, first failing %q, failing %d; want false, b, 2", res.Valid, res.FirstFailingKey, res.FailingKeys)
	}
	if !strings.Contains(res.Explanation, `Key "b"`) {
		t.Errorf("explanation is not about key b: %s", res.Explanation)
	}
}

func TestTimeoutIsUnknown(t *testing.T) {
	b := newBuilder().write(0, k, "1").read(1, k, v("1")).write(0, "j", "1")
	res := check(t, b.events, Options{Timeout: 1})
	if res.Valid != Unknown {
		t.Fatalf("valid = %v with a 1ns budget, want unknown", res.Valid)
	}
	for _, kr := range res.Keys {
		if kr.Valid != Unknown {
			t.Errorf("key %s = %v, want unknown", kr.Key, kr.Valid)
		}
	}
}

// TestVerboseTimeoutIsRespected: a tiny verbose budget still yields an
// invalid verdict and some explanation, promptly.
func TestVerboseTimeoutIsRespected(t *testing.T) {
	b := newBuilder().write(0, k, "1").write(0, k, "2").read(1, k, v("2")).read(1, k, v("1"))
	res := check(t, b.events, Options{VerboseTimeout: 1})
	if res.Valid != Invalid || res.Explanation == "" {
		t.Fatalf("valid %v, explanation %q", res.Valid, res.Explanation)
	}
}

func TestHTMLOnlyOnFailure(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "linearizability.html")
	ok := newBuilder().nemesis(history.FaultPartition, "halves [n1 n2] [n3]").write(0, k, "1").
		nemesis(history.FaultHeal, "").read(1, k, v("1"))
	res := check(t, ok.events, Options{HTMLPath: path})
	if res.HTML != "" {
		t.Errorf("HTML = %q for a valid history", res.HTML)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("visualization written for a valid history (stat: %v)", err)
	}

	bad := newBuilder().write(0, "fine", "value-of-a-valid-key").
		nemesis(history.FaultPartition, "halves [n1 n2] [n3]").
		nemesis(history.FaultKill, "n3").
		write(0, k, "1").write(0, k, "2").read(1, k, v("1")).
		nemesis(history.FaultHeal, "").nemesis(history.FaultAddNode, "n4")
	res = check(t, bad.events, Options{HTMLPath: path})
	if res.Valid != Invalid || res.HTML != "linearizability.html" {
		t.Fatalf("valid %v, HTML %q", res.Valid, res.HTML)
	}
	html, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"partition halves [n1 n2] [n3]", "kill n3", "add-node n4", `"faults"`, `"faults 2"`, "read → \\\"1\\\""} {
		if !strings.Contains(string(html), want) {
			t.Errorf("visualization lacks %q", want)
		}
	}
	if strings.Contains(string(html), "value-of-a-valid-key") {
		t.Error("visualization shows a key that is linearizable")
	}
}

func TestMalformedHistoriesAreErrors(t *testing.T) {
	w := func(i int64, typ history.Type, p int, f, key string) history.Event {
		return history.Event{Index: i, Type: typ, Process: history.Process(p), F: f, Key: key, Value: v("1")}
	}
	for _, tc := range []struct {
		name   string
		events []history.Event
		want   string
	}{
		{"index not increasing", []history.Event{w(3, history.Invoke, 0, "write", k), w(3, history.OK, 0, "write", k)}, "index 3 follows index 3"},
		{"completion without invoke", []history.Event{w(0, history.OK, 0, "write", k)}, "index 0: process 0 completes write with no open invoke"},
		{"double invoke", []history.Event{w(0, history.Invoke, 0, "write", k), w(1, history.Invoke, 0, "read", k)}, "index 1: process 0 invokes read while its write at index 0"},
		{"mismatched key", []history.Event{w(0, history.Invoke, 0, "write", k), w(1, history.OK, 0, "write", "other")}, "index 1: completion write \"other\" does not match"},
		{"no key", []history.Event{w(0, history.Invoke, 0, "write", "")}, "index 0: client write without a key"},
		{"unknown f", []history.Event{w(0, history.Invoke, 0, "append", k)}, `index 0: unknown client operation "append"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := CheckLinearizable(tc.events, Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	if _, err := CheckLinearizable(nil, Options{Timeout: -1}); err == nil {
		t.Error("a negative timeout is accepted")
	}
}

func TestCheckCombinesVerdicts(t *testing.T) {
	b := newBuilder().write(0, k, "1").read(1, k, v("1")).at(20).write(0, k, "2")
	res, err := Check(b.events, Options{LivenessBound: 5e9})
	if err != nil {
		t.Fatal(err)
	}
	if res.Linearizability.Valid != Valid || res.Liveness.Valid != Valid || res.Valid != Valid {
		t.Fatalf("%+v", res)
	}
	if res.Stats["write"]["ok"] != 2 {
		t.Errorf("stats = %v", res.Stats)
	}
	out, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"valid":true`, `"linearizability":{"valid":true,"keys":[{"key":"k","valid":true,"ops":3}]}`, `"final_heal_ns":0`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("JSON lacks %s: %s", want, out)
		}
	}
}

func TestVisualizationErrorKeepsVerdict(t *testing.T) {
	b := newBuilder().write(0, k, "1").read(1, k, v("2"))
	path := filepath.Join(t.TempDir(), "missing-dir", "l.html")
	res, err := Check(b.events, Options{HTMLPath: path})
	if !errors.Is(err, ErrVisualization) || !strings.Contains(err.Error(), path) {
		t.Fatalf("error %v, want ErrVisualization naming %s", err, path)
	}
	if res.Valid != Invalid || res.Linearizability.Explanation == "" || res.Stats == nil {
		t.Fatalf("verdict lost with the error: %+v", res)
	}
}

// TestAnomalyTime: the verdict says when the operation it blames returned,
// both for an anomaly the history proves by itself (a phantom read) and for
// one found from the checker's longest prefix (a stale read).
func TestAnomalyTime(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    *builder
		want int64
	}{
		{"stale read", served().at(1).write(0, k, "1").at(2).write(1, k, "2").at(3).read(2, k, v("2")).at(4).read(3, k, v("1")).at(5).read(2, k, v("2")), 4_010_000_000},
		{"phantom read", served().at(1).write(0, k, "1").at(6).read(1, k, v("7")).at(7).read(1, k, v("1")), 6_010_000_000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := check(t, tc.b.events, Options{})
			if res.Valid != Invalid || res.AnomalyTime != tc.want {
				t.Fatalf("valid %v, anomaly time %d, want %d: %s", res.Valid, res.AnomalyTime, tc.want, res.Explanation)
			}
		})
	}
	if res := check(t, served().at(1).write(0, k, "1").at(2).read(1, k, v("1")).events, Options{}); res.AnomalyTime != 0 {
		t.Fatalf("a valid history has anomaly time %d", res.AnomalyTime)
	}
}
