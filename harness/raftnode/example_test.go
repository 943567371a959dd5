package raftnode_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/splitbrain/splitbrain/harness"
	"github.com/splitbrain/splitbrain/harness/examples/tutorial"
	"github.com/splitbrain/splitbrain/harness/raftnode"
	pb "go.etcd.io/raft/v3/raftpb"
)

// Run a node of your own in the deterministic simulation: here the
// tutorial node (harness/examples/tutorial, written to this package
// alone), first as corrected, then with its local-reads flaw, which the
// linearizability checker catches (a local read that misses an acknowledged
// write makes the write look lost). The same seed gives the
// same run, byte for byte, on every machine.
func Example() {
	dir, _ := os.MkdirTemp("", "raftnode-example-")
	defer os.RemoveAll(dir)
	for _, sys := range []raftnode.System{tutorial.System(), tutorial.System(tutorial.LocalReads)} {
		out, err := harness.Run(context.Background(), harness.Test{
			Seed: 1, Duration: harness.Duration(20 * time.Second), SystemImpl: sys, Results: dir, Quick: true,
		})
		if err != nil {
			fmt.Println(err)
			return
		}
		r := out.Results
		fmt.Printf("%s: %s %v\n", sys.Name, harness.VerdictWord(r.Valid, false), r.Failures())
	}
	// Output:
	// tutorial: VALID []
	// tutorial+local-reads: INVALID [linearizability/stale-read]
}

// A driver folds each write into a Durable as it becomes durable; a node
// restarts from it.
func ExampleDurable_Apply() {
	ent := func(i, t uint64) *pb.Entry { return &pb.Entry{Index: &i, Term: &t} }
	d := &raftnode.Durable{}
	d.Apply(&raftnode.Write{Seq: 1, Sync: true, Entries: []*pb.Entry{ent(1, 1), ent(2, 1), ent(3, 1)}})
	d.Apply(&raftnode.Write{Seq: 2, Sync: true, Entries: []*pb.Entry{ent(3, 2), ent(4, 2)}}) // a new leader overwrites the tail
	t3, _ := d.Term(3)
	fmt.Println("last index", d.LastIndex(), "term at 3:", t3)
	// Output: last index 4 term at 3: 2
}
