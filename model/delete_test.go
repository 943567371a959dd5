package model

import (
	"strings"
	"testing"

	"github.com/splitbrain/splitbrain/harness/history"
)

// del is a whole ok delete by process p.
func (b *builder) del(p int, key string) *builder {
	return b.inv(p, history.FDelete, key).ok(p)
}

func TestHistoriesWithDeletesPass(t *testing.T) {
	for _, tc := range []struct {
		name    string
		initial *string
		b       *builder
	}{
		{"delete then read absent", nil, newBuilder().write(0, k, "1").del(1, k).read(2, k, nil).write(0, k, "2").read(1, k, v("2"))},
		{"delete of an absent key", nil, newBuilder().del(0, k).read(1, k, nil)},
		{"delete of the initial value", v("0"), newBuilder().read(0, k, v("0")).del(0, k).read(1, k, nil)},
		{"read concurrent with delete sees the old value", nil, newBuilder().write(0, k, "1").
			inv(1, history.FDelete, k).read(2, k, v("1")).ok(1).read(2, k, nil)},
		{"read concurrent with delete sees absent", nil, newBuilder().write(0, k, "1").
			inv(1, history.FDelete, k).read(2, k, nil).ok(1).read(2, k, nil)},
		{"cas expecting absent after a delete", nil, newBuilder().write(0, k, "1").del(1, k).
			inv(2, history.FCAS, k, nil, v("2")).ok(2).read(0, k, v("2"))},
		{"info delete that took effect", nil, newBuilder().write(0, k, "1").
			inv(1, history.FDelete, k).info(1).read(2, k, v("1")).read(2, k, nil).read(3, k, nil)},
		{"info delete that never took effect", nil, newBuilder().write(0, k, "1").
			inv(1, history.FDelete, k).info(1).read(2, k, v("1")).read(3, k, v("1"))},
		{"info delete that took effect after a later write", nil, newBuilder().write(0, k, "1").
			inv(1, history.FDelete, k).info(1).write(0, k, "2").read(2, k, v("2")).read(2, k, nil)},
		{"delete never completed took effect", nil, newBuilder().write(0, k, "1").
			inv(1, history.FDelete, k).read(2, k, nil)},
		{"failed delete is invisible", nil, newBuilder().write(0, k, "1").
			inv(1, history.FDelete, k).fail(1).read(2, k, v("1"))},
		{"write after delete", nil, newBuilder().write(0, k, "1").del(0, k).write(1, k, "2").del(2, k).read(0, k, nil).write(1, k, "3").read(2, k, v("3"))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := check(t, tc.b.events, Options{Initial: tc.initial})
			if res.Valid != Valid {
				t.Fatalf("valid = %v, want true; explanation: %s", res.Valid, res.Explanation)
			}
		})
	}
}

func TestHistoriesWithDeletesFail(t *testing.T) {
	for _, tc := range []struct {
		name    string
		initial *string
		b       *builder
		blames  string // the explanation names this operation
	}{
		{"read of a deleted value", nil, newBuilder().write(0, k, "1").del(1, k).read(2, k, v("1")), "read"},
		{"read of absent after a later write", nil, newBuilder().write(0, k, "1").del(1, k).write(0, k, "2").read(2, k, nil), "read"},
		{"read of absent although nothing deleted", v("0"), newBuilder().read(0, k, nil), "read"},
		{"cas expecting absent while present", nil, newBuilder().write(0, k, "1").
			inv(2, history.FCAS, k, nil, v("2")).ok(2), "cas"},
		{"cas expecting the deleted value", nil, newBuilder().write(0, k, "1").del(1, k).cas(2, k, "1", "2"), "cas"},
		{"failed delete took effect", nil, newBuilder().write(0, k, "1").
			inv(1, history.FDelete, k).fail(1).read(2, k, nil), "read"},
		{"delete lost", nil, newBuilder().write(0, k, "1").del(1, k).read(2, k, nil).read(2, k, v("1")), "read"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := check(t, tc.b.events, Options{Initial: tc.initial})
			if res.Valid != Invalid {
				t.Fatalf("valid = %v, want false", res.Valid)
			}
			if res.FirstFailingKey != k || res.Anomaly == "" || !strings.Contains(res.Explanation, tc.blames) {
				t.Fatalf("key %q anomaly %q explanation %q, want key %q and a %s blamed", res.FirstFailingKey, res.Anomaly, res.Explanation, k, tc.blames)
			}
		})
	}
}

// TestDeleteDescribed: the visualization and the explanations name a
// delete as one.
func TestDeleteDescribed(t *testing.T) {
	h, err := newKVHistory(newBuilder().inv(0, history.FDelete, k).info(0).events, nil)
	if err != nil {
		t.Fatal(err)
	}
	o := h.all[k][0]
	m := kvModel(h.values, h.initial)
	if got := m.DescribeOperation(&o.in, &kvOutput{unknown: true}); got != "delete (outcome unknown)" {
		t.Fatalf("described as %q", got)
	}
	if v, ok := o.produces(); !ok || v != absent {
		t.Fatalf("a delete produces %v %v, want absent", v, ok)
	}
	if got := kindWord(o); got != "delete" {
		t.Fatalf("kind word %q", got)
	}
}

// TestDeleteExplanationsSayDelete: an explanation that cites a delete
// words it as one — it deleted the key, it did not "write absent".
func TestDeleteExplanationsSayDelete(t *testing.T) {
	for _, tc := range []struct {
		name    string
		initial *string
		b       *builder
		want    []string // in the explanation
		not     []string // not in it, besides "wrote absent" and the like
	}{
		{"the only delete failed", v("0"), newBuilder().inv(1, history.FDelete, k).fail(1).read(2, k, nil),
			[]string{"the only operation that deleted the key, the delete by process 1"}, nil},
		{"every delete failed", v("0"), newBuilder().inv(1, history.FDelete, k).fail(1).inv(1, history.FDelete, k).fail(1).read(2, k, nil),
			[]string{"every one of the 2 operations that deleted the key failed"}, nil},
		{"the first delete came later", v("0"), newBuilder().read(2, k, nil).del(1, k),
			[]string{"the first delete of the key, the delete by process 1"}, nil},
		{"a lost delete", nil, newBuilder().write(0, k, "1").del(1, k).read(2, k, v("1")),
			[]string{"the delete by process 1 was acknowledged", "The delete ran while"}, []string{"The write ran"}},
		{"a stale read after a delete", nil, newBuilder().write(0, k, "1").del(1, k).read(3, k, nil).read(2, k, v("1")),
			[]string{"The delete was not lost: a read by process 3 returned absent"}, []string{"The write was not lost"}},
		{"absent left by a delete", nil, newBuilder().write(0, k, "1").del(1, k).write(0, k, "2").read(2, k, nil),
			[]string{"saw the older value absent, left by the delete by process 1"}, nil},
		{"a delete was the last change", nil, newBuilder().write(0, k, "1").del(1, k).read(2, k, v("2")).write(0, k, "2"),
			[]string{"It should have seen absent, from the delete by process 1", "the last write or delete completed before it began"},
			[]string{"the last write completed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := check(t, tc.b.events, Options{Initial: tc.initial})
			if res.Valid != Invalid {
				t.Fatalf("valid = %v, want false", res.Valid)
			}
			for _, w := range tc.want {
				if !strings.Contains(res.Explanation, w) {
					t.Errorf("explanation lacks %q:\n%s", w, res.Explanation)
				}
			}
			for _, bad := range append([]string{"wrote absent", "write of absent", "written by the delete"}, tc.not...) {
				if strings.Contains(res.Explanation, bad) {
					t.Errorf("explanation words a delete as a write (%q):\n%s", bad, res.Explanation)
				}
			}
		})
	}
}
