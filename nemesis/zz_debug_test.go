package nemesis

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

func TestZZDebug(t *testing.T) {
	o := GenOptions{Duration: 60 * time.Second, FinalHeal: 47 * time.Second, Kinds: Families()}.withDefaults()
	g := newGen(pcgChooser{rand.New(rand.NewPCG(4, 0x6e656d65736973))}, o)
	fmt.Println(g.fams, g.has("clock"), g.has("packet"))
	g.timeline()
	fmt.Println(g.placed)
	fmt.Print(finish(g.evs, o))
}
