package sim

// driver runs a World on its own goroutine and executes functions inside
// its main task, one at a time, on request from a test goroutine. Between
// requests the world is frozen, so the test may inspect it.
type driver struct {
	w     *World
	cmds  chan func()
	ack   chan struct{}
	errc  chan error
	err   error
	ended bool
}

func startDriver(cfg Config) (*driver, error) {
	w, err := New(cfg)
	if err != nil {
		return nil, err
	}
	d := &driver{w: w, cmds: make(chan func()), ack: make(chan struct{}), errc: make(chan error, 1)}
	go func() {
		d.errc <- w.Run(func() {
			for fn := range d.cmds {
				fn()
				d.ack <- struct{}{}
			}
		})
	}()
	d.do(func() {}) // the cluster is created when the run starts
	return d, nil
}

// do runs fn inside the world's main task and waits for it (or for the
// run to stop on a violated invariant, which sets err).
func (d *driver) do(fn func()) {
	if d.ended {
		return
	}
	d.cmds <- fn
	select {
	case <-d.ack:
	case d.err = <-d.errc:
		d.ended = true
	}
}

// close ends the run and returns its error.
func (d *driver) close() error {
	if !d.ended {
		close(d.cmds)
		d.err = <-d.errc
		d.ended = true
	}
	return d.err
}
