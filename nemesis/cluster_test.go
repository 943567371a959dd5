package nemesis

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestParseForRejectsNodesThatCannotExist: a node named in a schedule must
// be an initial node or one an earlier event could create; the error names
// file:line.
func TestParseForRejectsNodesThatCannotExist(t *testing.T) {
	five := Cluster{Nodes: 5, End: 30 * time.Second}
	for _, c := range []struct {
		text string
		want string // "" for accepted; else a substring of the error
	}{
		{"1.0s kill n9\n", "s.txt:1: no such node: 1.0s kill n9: n9 is not in the 5-node cluster (n1…n5)"},
		{"# comment\n\n1.0s kill n1\n2.0s restart n99\n", "s.txt:4: no such node"},
		{"1.0s partition isolate n6\n", "s.txt:1: no such node"},
		{"1.0s partition one-way n1 n2,n7\n", "s.txt:1: no such node"},
		{"1.0s packet loss=0.5 links=n1->n8\n", "s.txt:1: no such node"},
		{"1.0s packet loss=0.5 links=n6\n", "s.txt:1: no such node"},
		{"1.0s skew n6 2\n", "s.txt:1: no such node"},
		{"1.0s kill n5\n2.0s restart n5\n", ""},
		// add-node creates n6: it may be named after it, not before.
		{"1.0s add-node\n2.0s kill n6\n", ""},
		{"1.0s kill n6\n2.0s add-node\n", "s.txt:1: no such node"},
		{"1.0s add-node\n2.0s kill n7\n", "s.txt:2: no such node: 2.0s kill n7: n7 cannot exist yet"},
		// replace n1,n2 creates two; a wipe's restart creates one.
		{"1.0s replace n1,n2\n2.0s kill n7\n", ""},
		{"1.0s replace n1,n2\n2.0s kill n8\n", "s.txt:2: no such node"},
		{"1.0s wipe one\n2.0s restart one\n3.0s kill n6\n", ""},
		{"1.0s replace all\n2.0s kill n10\n", ""},
	} {
		_, err := ParseFor(strings.NewReader(c.text), "s.txt", five)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%q: rejected: %v", c.text, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%q: got %v, want an error containing %q", c.text, err, c.want)
		case c.want != "" && !errors.Is(err, ErrNoSuchNode):
			t.Errorf("%q: %v is not ErrNoSuchNode", c.text, err)
		}
	}
}

// TestParseForRejectsEventsAfterTheEnd: an event at or after the end of
// the test would stretch it (or never run): rejected with file:line.
func TestParseForRejectsEventsAfterTheEnd(t *testing.T) {
	c := Cluster{Nodes: 5, End: 5 * time.Second}
	for _, text := range []string{"1.0s kill one\n999h heal-all\n", "20.0s kill one\n", "5.0s heal\n"} {
		_, err := ParseFor(strings.NewReader(text), "s.txt", c)
		if !errors.Is(err, ErrAfterEnd) || !strings.HasPrefix(err.Error(), "s.txt:") {
			t.Errorf("%q: got %v, want ErrAfterEnd naming s.txt:line", text, err)
		}
	}
	if _, err := ParseFor(strings.NewReader("1.0s kill one\n4.9s restart one\n"), "s.txt", c); err != nil {
		t.Errorf("events inside the test rejected: %v", err)
	}
	_, err := ParseFor(strings.NewReader("1.0s kill one\n\n999h heal-all\n"), "s.txt", c)
	if err == nil || !strings.HasPrefix(err.Error(), "s.txt:3: ") {
		t.Errorf("got %v, want the error at s.txt:3", err)
	}
}

// TestGeneratedSchedulesFitTheirCluster: what the generator draws always
// passes CheckCluster (it never names impossible nodes or runs late).
func TestGeneratedSchedulesFitTheirCluster(t *testing.T) {
	for seed := uint64(1); seed <= 200; seed++ {
		for _, nodes := range []int{1, 3, 5} {
			d := 40 * time.Second
			s := Generate(seed, GenOptions{Duration: d, FinalHeal: 30 * time.Second, Kinds: Families(), Nodes: nodes})
			if err := s.CheckCluster(Cluster{Nodes: nodes, End: d}); err != nil {
				t.Fatalf("seed %d, %d nodes: %v\n%s", seed, nodes, err, s)
			}
		}
	}
}
