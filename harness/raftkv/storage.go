package raftkv

import (
	"github.com/splitbrain/splitbrain/harness/raftnode"
	pb "go.etcd.io/raft/v3/raftpb"
)

// Write and Durable are the node contract's (package raftnode): the
// batch of raft state a node asks its driver to persist, and what a node
// finds in its storage when it starts. Durable.Apply is the reference
// semantics every storage follows.
type (
	Write   = raftnode.Write
	Durable = raftnode.Durable
)

func isEmptyHardState(hs *pb.HardState) bool { return raftnode.IsEmptyHardState(hs) }

func isEmptySnap(s *pb.Snapshot) bool { return raftnode.IsEmptySnap(s) }
