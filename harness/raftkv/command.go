package raftkv

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/splitbrain/splitbrain/harness/raftnode"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// The request types are the node contract's (package raftnode), under
// the names raftkv has always used.
type (
	Op        = raftnode.Op
	RequestID = raftnode.RequestID
	Request   = raftnode.Request
	Outcome   = raftnode.Outcome
	Response  = raftnode.Response
)

// The operations and outcomes (raftnode's).
const (
	OpGet    = raftnode.OpGet
	OpPut    = raftnode.OpPut
	OpCAS    = raftnode.OpCAS
	OpDelete = raftnode.OpDelete

	OK      = raftnode.OK
	Fail    = raftnode.Fail
	Unknown = raftnode.Unknown
)

// command is what a write proposal carries in a log entry.
type command struct {
	ID       RequestID
	Op       Op
	Key      string
	Value    string
	Expected *string
}

var errBadCommand = errors.New("raftkv: malformed command")

func (c *command) marshal() []byte {
	b := make([]byte, 0, 32+len(c.Key)+len(c.Value))
	b = append(b, byte(c.Op))
	b = binary.AppendUvarint(b, c.ID.Client)
	b = binary.AppendUvarint(b, c.ID.Seq)
	b = appendString(b, c.Key)
	b = appendString(b, c.Value)
	if c.Expected == nil {
		b = append(b, 0)
	} else {
		b = append(b, 1)
		b = appendString(b, *c.Expected)
	}
	return b
}

func (c *command) unmarshal(b []byte) error {
	d := decoder{b: b}
	c.Op = Op(d.byte())
	c.ID.Client = d.uvarint()
	c.ID.Seq = d.uvarint()
	c.Key = d.string()
	c.Value = d.string()
	c.Expected = nil
	if d.byte() == 1 {
		s := d.string()
		c.Expected = &s
	}
	if d.err != nil || len(d.b) != 0 || c.Op < OpPut || c.Op > OpDelete {
		return errBadCommand
	}
	return nil
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// decoder reads the small binary encodings of commands and snapshots. The
// first error sticks; later reads return zero values.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail() { d.err, d.b = errBadCommand, nil }

func (d *decoder) byte() byte {
	if len(d.b) < 1 {
		d.fail()
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) string() string {
	n := d.uvarint()
	if uint64(len(d.b)) < n {
		d.fail()
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

// DescribeEntry renders a log entry for people: "put k=v (req 3.7)",
// "cas k 1→2", "conf change add n4", "empty".
func DescribeEntry(e *pb.Entry) string {
	switch e.GetType() {
	case pb.EntryNormal:
		if len(e.GetData()) == 0 {
			return "empty"
		}
		var c command
		if err := c.unmarshal(e.GetData()); err != nil {
			return "malformed command"
		}
		switch c.Op {
		case OpPut:
			return fmt.Sprintf("put %s=%s (req %s)", c.Key, c.Value, c.ID)
		case OpDelete:
			return fmt.Sprintf("delete %s (req %s)", c.Key, c.ID)
		default:
			exp := "absent"
			if c.Expected != nil {
				exp = *c.Expected
			}
			return fmt.Sprintf("cas %s %s→%s (req %s)", c.Key, exp, c.Value, c.ID)
		}
	case pb.EntryConfChange:
		var cc pb.ConfChange
		if err := proto.Unmarshal(e.GetData(), &cc); err != nil {
			return "malformed conf change"
		}
		return "conf change " + pb.ConfChangesToString(cc.AsV2().GetChanges())
	default:
		var cc pb.ConfChangeV2
		if err := proto.Unmarshal(e.GetData(), &cc); err != nil {
			return "malformed conf change"
		}
		return "conf change " + pb.ConfChangesToString(cc.GetChanges())
	}
}
