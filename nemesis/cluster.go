package nemesis

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/splitbrain/splitbrain/harness/world"
)

// Cluster is what a schedule will run against: the number of nodes the
// cluster starts with (n1…nN) and the length of the test.
type Cluster struct {
	Nodes int
	End   time.Duration
}

// EventError is an event of a schedule that cannot run on a cluster.
// Event is its 0-based position in Schedule.Events.
type EventError struct {
	Event int
	Err   error
}

func (e *EventError) Error() string { return fmt.Sprintf("event %d: %v", e.Event+1, e.Err) }
func (e *EventError) Unwrap() error { return e.Err }

// ErrNoSuchNode and ErrAfterEnd are what CheckCluster finds.
var (
	ErrNoSuchNode = errors.New("no such node")
	ErrAfterEnd   = errors.New("event after the end of the test")
)

// CheckCluster reports the first event of s that can never run as written
// on c, as an *EventError:
//
//   - an event at or after the end of the test (it would stretch the
//     test, or never run);
//   - a node named explicitly (kill n9, links=n1->n9) that can never
//     exist: a node must be one of the initial n1…nN, or one that an
//     earlier event of the schedule could have created. Nodes get new,
//     increasing IDs: add-node creates one, replace one per node it
//     replaces, and a wipe one (the restart that replaces the wiped node).
//     The bound is generous (a selector may act on every node), so a
//     schedule that names a node some execution could create is kept.
//
// Selectors (one, leader, …) are resolved when the op runs and are never
// wrong here.
func (s Schedule) CheckCluster(c Cluster) error {
	possible := world.NodeID(c.Nodes) // the highest ID that may exist so far
	for i, e := range s.Events {
		if c.End > 0 && e.At >= c.End {
			return &EventError{Event: i, Err: fmt.Errorf("%w: %s is at or after the end of the %v test (%s)", ErrAfterEnd, fmtAt(e.At), c.End, e)}
		}
		for _, id := range e.Op.namedNodes() {
			if id < 1 || id > possible {
				return &EventError{Event: i, Err: fmt.Errorf("%w: %s: %s %s", ErrNoSuchNode, e, id, existing(c.Nodes, possible))}
			}
		}
		switch e.Op.Kind {
		case AddNode, Wipe:
			possible++
		case Replace:
			if e.Op.Target.Sel == Explicit {
				possible += world.NodeID(len(e.Op.Target.Nodes))
			} else {
				possible += possible
			}
		}
	}
	return nil
}

// existing says which nodes can exist at an event, for an error message.
func existing(initial int, possible world.NodeID) string {
	if int(possible) == initial {
		return fmt.Sprintf("is not in the %d-node cluster (n1…n%d)", initial, initial)
	}
	return fmt.Sprintf("cannot exist yet: the cluster starts with n1…n%d and the events before this one create at most n%d", initial, possible)
}

// namedNodes lists the nodes op names explicitly: targets and packet links.
func (o Op) namedNodes() []world.NodeID {
	var ids []world.NodeID
	for _, t := range []Target{o.Target, o.To, o.Packet.Of} {
		if t.Sel == Explicit {
			ids = append(ids, t.Nodes...)
		}
	}
	for _, l := range o.Packet.Links {
		ids = append(ids, l[0], l[1])
	}
	return ids
}

// ParseFor parses a schedule (as Parse) and checks it against c (as
// CheckCluster), naming the place of an event that cannot run as
// name:line.
func ParseFor(r io.Reader, name string, c Cluster) (Schedule, error) {
	s, lines, err := parse(r, name)
	if err != nil {
		return Schedule{}, err
	}
	if err := s.CheckCluster(c); err != nil {
		var ee *EventError
		if errors.As(err, &ee) && ee.Event < len(lines) {
			return Schedule{}, fmt.Errorf("%s:%d: %w", name, lines[ee.Event], ee.Err)
		}
		return Schedule{}, fmt.Errorf("%s: %w", name, err)
	}
	return s, nil
}
