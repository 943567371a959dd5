package scenario

import (
	"fmt"
	"time"
)

// budget is the context.Context the Lua VM consults before every
// instruction (gopher-lua calls Done once per instruction). It is not a
// timer: it counts instructions, so a runaway script is stopped at the
// same instruction on every run of the same seed. Every 1024 instructions
// it asks whether the test is over and whether the test clock has moved;
// a script that runs the whole budget while the clock stands still is in
// an endless loop (in the sim nothing else can move the clock).
//
// Once tripped, Done stays closed, so every further instruction raises an
// error: a pcall cannot swallow the end of the test.
type budget struct {
	in      *interp
	limit   int
	n       int
	lastNow time.Duration
	tripped error // errStopped, or the runaway error
	open    chan struct{}
	closed  chan struct{}
}

func newBudget(in *interp, limit int) *budget {
	b := &budget{in: in, limit: limit, lastNow: in.w.Now(), open: make(chan struct{}), closed: make(chan struct{})}
	close(b.closed)
	return b
}

// runawayError is a script that ran its instruction budget without the
// test clock moving.
type runawayError struct {
	where string
	n     int
	at    time.Duration
}

func (e *runawayError) Error() string {
	return fmt.Sprintf("%s ran %d Lua instructions while the test clock stood still at %.3fs: an endless loop? (let time pass with sleep(seconds) or wait_for_leader(timeout))",
		e.where, e.n, e.at.Seconds())
}

func (b *budget) Deadline() (time.Time, bool) { return time.Time{}, false }
func (b *budget) Value(any) any               { return nil }
func (b *budget) Err() error                  { return b.tripped }

func (b *budget) Done() <-chan struct{} {
	if b.tripped != nil {
		return b.closed
	}
	b.n++
	if b.n&1023 != 0 {
		return b.open
	}
	if b.in.stop() {
		b.tripped = errStopped
		return b.closed
	}
	if b.in.mem != nil {
		if err := b.in.mem.tick(1024); err != nil {
			b.tripped = err
			return b.closed
		}
	}
	if now := b.in.w.Now(); now != b.lastNow {
		b.lastNow, b.n = now, 0
		return b.open
	}
	if b.n >= b.limit {
		b.tripped = &runawayError{where: b.in.L.Where(0), n: b.n, at: b.lastNow}
		return b.closed
	}
	return b.open
}
