package sim

import (
	"fmt"
	"testing"
	"time"

	"github.com/splitbrain/splitbrain/harness/world"
)

func TestSmoke(t *testing.T) {
	w, err := New(Config{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	var oks, fails, unknowns int
	err = w.Run(func() {
		g := w.NewGroup()
		for c := 0; c < 5; c++ {
			g.Go(fmt.Sprint("client", c), func() {
				cl := w.Client()
				for i := 0; w.Now() < 10*time.Second; i++ {
					node := world.NodeID(c%5 + 1)
					var op world.Op
					if i%2 == 0 {
						op = world.Op{Kind: world.Put, Key: "k", Value: fmt.Sprint(c, "-", i)}
					} else {
						op = world.Op{Kind: world.Get, Key: "k"}
					}
					r := cl.Do(node, op, time.Second)
					switch r.Outcome {
					case world.OK:
						oks++
					case world.Fail:
						fails++
					default:
						unknowns++
					}
					w.Sleep(10 * time.Millisecond)
				}
			})
		}
		w.Sleep(3 * time.Second)
		w.SetReach(world.Groups([]world.NodeID{1, 2}, []world.NodeID{3, 4, 5}))
		w.Sleep(3 * time.Second)
		w.SetReach(world.Reach{})
		w.Crash(1, world.LoseUnsynced)
		w.Sleep(time.Second)
		w.Restart(1)
		g.Wait()
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("ok %d fail %d unknown %d events %d checks %v", oks, fails, unknowns, w.Events(), w.Checks())
	if oks < 100 {
		t.Fatalf("too few ok ops: %d", oks)
	}
}
