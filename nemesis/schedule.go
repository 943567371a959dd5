package nemesis

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"
)

// Schedule is a timed list of nemesis operations.
type Schedule struct {
	Events []Event
}

// Event is an operation and when it runs: At is the time since the test
// started (world.Env.Now), not since the previous event.
type Event struct {
	At time.Duration
	Op Op
}

// String is the schedule's canonical text, one event a line ("5.0s
// partition leader-minority"); Parse reads it back to an equal Schedule.
func (s Schedule) String() string {
	var b strings.Builder
	for _, e := range s.Events {
		b.WriteString(e.String())
		b.WriteByte('\n')
	}
	return b.String()
}

func (e Event) String() string { return fmtAt(e.At) + " " + e.Op.String() }

// Kinds returns the sorted fault families (see Families) of the ops in s;
// healers count for none. It is a schedule's signature in a campaign.
func (s Schedule) Kinds() []string {
	seen := map[string]bool{}
	for _, e := range s.Events {
		if f := e.Op.Kind.Family(); f != "" {
			seen[f] = true
		}
	}
	out := make([]string, 0, len(seen))
	for f := range seen {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

// End is the time of the last event (0 for an empty schedule).
func (s Schedule) End() time.Duration {
	if len(s.Events) == 0 {
		return 0
	}
	return s.Events[len(s.Events)-1].At
}

// Validate checks that times are non-negative and non-decreasing and that
// every op is well formed: exactly what Parse would accept. Schedules built
// in code should pass it before they run.
func (s Schedule) Validate() error {
	var prev time.Duration
	for i, e := range s.Events {
		if e.At < 0 {
			return fmt.Errorf("event %d (%s): negative time", i+1, e)
		}
		if e.At < prev {
			return fmt.Errorf("event %d (%s): time %s is before the previous event's %s", i+1, e, fmtAt(e.At), fmtAt(prev))
		}
		prev = e.At
		if err := e.Op.Validate(); err != nil {
			return fmt.Errorf("event %d: %w", i+1, err)
		}
	}
	return nil
}

// Validate reports whether o is well formed: its text parses back to o.
func (o Op) Validate() error {
	back, err := parseOp(strings.Fields(o.String()))
	if err != nil {
		return err
	}
	if !reflect.DeepEqual(back, o) {
		return fmt.Errorf("%s: malformed op (%+v does not match its text form)", o.Kind, o)
	}
	return nil
}
