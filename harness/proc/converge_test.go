package proc

import (
	"strings"
	"testing"
	"time"

	"github.com/splitbrain/splitbrain/harness/world"
)

// TestAgree: members agree only when every running one reports the same
// index and hash; a split at one index is named as a divergence.
func TestAgree(t *testing.T) {
	m := func(id world.NodeID, index uint64, hash, err string) world.MemberState {
		return world.MemberState{Node: id, Index: index, Hash: hash, Err: err}
	}
	for _, c := range []struct {
		name   string
		states []world.MemberState
		ok     bool
		want   string
	}{
		{"same", []world.MemberState{m(1, 7, "aa", ""), m(2, 7, "aa", ""), m(3, 7, "aa", "")}, true, "3 members at index 7 with hash aa"},
		{"one down", []world.MemberState{m(1, 7, "aa", ""), m(2, 0, "", "not running"), m(3, 7, "aa", "")}, true, "not running, not compared: n2"},
		{"behind", []world.MemberState{m(1, 7, "aa", ""), m(2, 5, "bb", ""), m(3, 7, "aa", "")}, false, "n2 at index 5 hash bb; n1 n3 at index 7 hash aa"},
		{"diverged", []world.MemberState{m(1, 7, "aa", ""), m(2, 7, "bb", ""), m(3, 7, "aa", "")}, false, "diverged: n1 n3 and n2 hold different data at the same index 7"},
		{"silent", []world.MemberState{m(1, 7, "aa", ""), m(2, 0, "", "timeout")}, false, "no answer from n2 (timeout)"},
		{"none", []world.MemberState{m(1, 0, "", "not running")}, false, "no member is running"},
	} {
		ok, why := agree(c.states)
		if ok != c.ok || !strings.Contains(why, c.want) {
			t.Errorf("%s: agree = %v %q, want %v and %q", c.name, ok, why, c.ok, c.want)
		}
	}
}

// TestWorldConverges: the reference node's members report the same state
// once they have applied the same writes, and a member cut off from the
// writes makes the check fail, naming it.
func TestWorldConverges(t *testing.T) {
	requireRoot(t)
	w := newTestWorld(t, 3, nil)
	err := w.Run(func() {
		c := w.Client()
		l := waitLeader(t, w)
		put(t, c, l, "a", "1")
		if conv := w.Converge(10 * time.Second); !conv.Available || !conv.Converged || len(conv.Members) != 3 ||
			!strings.Contains(conv.Detail, "the same membership: voters [1 2 3]") {
			t.Fatalf("after one write: %+v", conv)
		}
		f := other(w.Nodes(), l)
		var rest []world.NodeID
		for _, id := range w.Nodes() {
			if id != f {
				rest = append(rest, id)
			}
		}
		if err := w.SetReach(world.Groups([]world.NodeID{f}, rest)); err != nil {
			t.Fatal(err)
		}
		put(t, c, waitLeader(t, w, f), "a", "2")
		conv := w.Converge(time.Second)
		if !conv.Available || conv.Converged || !strings.Contains(conv.Detail, f.String()+" at index") {
			t.Fatalf("with %s cut off: %+v", f, conv)
		}
		if err := w.SetReach(world.Reach{}); err != nil {
			t.Fatal(err)
		}
		if conv := w.Converge(10 * time.Second); !conv.Converged {
			t.Fatalf("after the heal: %+v", conv)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestAgreeMembers: members that hold the same data must report the same
// membership when their statuses are at one applied index; statuses at
// different indexes, or a member without one, are not judged.
func TestAgreeMembers(t *testing.T) {
	m := func(id world.NodeID, applied uint64, voters, learners []uint64, err string) memberStatus {
		return memberStatus{node: id, applied: applied, voters: voters, learners: learners, err: err}
	}
	v := []uint64{1, 2, 3}
	for _, c := range []struct {
		name string
		sts  []memberStatus
		ok   bool
		want string
	}{
		{"same", []memberStatus{m(1, 9, v, nil, ""), m(2, 9, v, nil, ""), m(3, 9, v, nil, "")}, true, "the same membership: voters [1 2 3]"},
		{"diverged", []memberStatus{m(1, 9, v, nil, ""), m(2, 9, []uint64{1, 2}, nil, ""), m(3, 9, v, nil, "")}, false,
			"diverged: members at the same data and applied index report different memberships: n1 n3 report voters [1 2 3] learners []; n2 report voters [1 2]"},
		{"learners differ", []memberStatus{m(1, 9, v, []uint64{4}, ""), m(2, 9, v, nil, "")}, false, "diverged"},
		{"different indexes", []memberStatus{m(1, 9, v, nil, ""), m(2, 10, []uint64{1, 2}, nil, "")}, false, "not compared: the members' statuses are at different applied indexes"},
		{"no status", []memberStatus{m(1, 9, v, nil, ""), m(2, 0, nil, nil, "timeout")}, false, "not compared: no status from n2 (timeout)"},
		// TestEtcdWorld's learner: etcd answers no membership there.
		{"not reported", []memberStatus{m(1, 9, v, []uint64{4}, ""), m(4, 9, nil, nil, ""), m(2, 9, v, []uint64{4}, "")}, true,
			"the same membership: voters [1 2 3] learners [4] (no membership reported by n4)"},
	} {
		ok, why := agreeMembers(c.sts)
		if ok != c.ok || !strings.Contains(why, c.want) {
			t.Errorf("%s: agreeMembers = %v %q, want %v and %q", c.name, ok, why, c.ok, c.want)
		}
	}
}
