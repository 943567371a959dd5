package nemesis

import (
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"testing"
	"time"
)

func TestZZPrint(t *testing.T) {
	seed, _ := strconv.Atoi(os.Getenv("SEED"))
	if seed == 0 {
		t.Skip()
	}
	fmt.Print(Generate(uint64(seed), GenOptions{Duration: 60 * time.Second, FinalHeal: 45 * time.Second}))
}

func TestZZStats(t *testing.T) {
	if os.Getenv("STATS") == "" {
		t.Skip()
	}
	fh, _ := time.ParseDuration(os.Getenv("STATS"))
	o := GenOptions{Duration: 60 * time.Second, FinalHeal: fh}.withDefaults()
	runs := map[string]int{}
	total := 0
	N := 2000
	for seed := 1; seed <= N; seed++ {
		g := newGen(pcgChooser{rand.New(rand.NewPCG(uint64(seed), 0x6e656d65736973))}, o)
		g.timeline()
		seen := map[string]bool{}
		for _, p := range g.placed {
			seen[p.name] = true
		}
		total += len(g.placed)
		for n := range seen {
			runs[n]++
		}
	}
	var names []string
	for n := range runs {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return runs[names[i]] > runs[names[j]] })
	for _, n := range names {
		fmt.Printf("%-22s %5.1f%%\n", n, 100*float64(runs[n])/float64(N))
	}
	fmt.Printf("episodes per run %.2f\n", float64(total)/float64(N))
}
