package proc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// TablePrefix starts the name of every nftables table a run owns:
// splitbrain_<run tag>. Clean looks for it.
const TablePrefix = "splitbrain_"

// dropRule drops the TCP packets of the link from node src to node dst,
// dport being the run's peer port: with probability LossPPM/10⁶, or
// always if LossPPM is 0.
//
// By address (the dialer mode, for a system whose nodes send only on
// connections they dialled from their own address): packets with source
// address src, destination address dst and destination port dport.
//
// By process (srcGID set: the packet mode, for any binary): a node's
// processes run with their own group ID (nodeGID), and the first packet
// of every connection to a peer port marks its conntrack entry with the
// group of the process that dialled it. The packets src sends to dst are
// then those of connections src dialled to dst (original direction) and
// those of connections dst dialled to src (reply direction), whatever
// addresses and ports the system's sockets use.
type dropRule struct {
	src, dst       net.IP
	dport          uint16
	lossPPM        uint32
	srcGID, dstGID uint32 // by process when srcGID != 0
}

func (r dropRule) String() string {
	loss := ""
	if r.lossPPM > 0 {
		loss = fmt.Sprintf(" numgen random mod 1000000 < %d", r.lossPPM)
	}
	if r.srcGID != 0 {
		return fmt.Sprintf("ct mark %d ct original ip daddr %s ct original proto-dst %d ct direction original%s drop; "+
			"ct mark %d ct original ip daddr %s ct original proto-dst %d ct direction reply%s drop",
			r.srcGID, r.dst, r.dport, loss, r.dstGID, r.src, r.dport, loss)
	}
	return fmt.Sprintf("ip saddr %s ip daddr %s tcp dport %d%s drop", r.src, r.dst, r.dport, loss)
}

// firewall is a run's own nftables table, with one chain whose rules are
// rebuilt, atomically, on every change: on the input hook for rules by
// address, on the output hook (where a packet's socket, and so its
// process's group, is known) for rules by process.
type firewall struct {
	name      string
	table     *nftables.Table
	chain     *nftables.Chain
	byProcess bool
	peerPort  uint16
}

// errNoPrivilege says nftables refused us.
var errNoPrivilege = errors.New("process mode needs root (CAP_NET_ADMIN) to install nftables rules for network faults; run as root, or pass --no-net-faults to run without partitions and packet loss")

// newFirewall creates the table (replacing a stale one of the same name).
// dialer chooses rules by address (see dropRule), else by process for a
// run whose peer port is peerPort.
func newFirewall(name string, dialer bool, peerPort uint16) (*firewall, error) {
	f := &firewall{name: name, byProcess: !dialer, peerPort: peerPort}
	f.table = &nftables.Table{Name: name, Family: nftables.TableFamilyIPv4}
	policy := nftables.ChainPolicyAccept
	hook := nftables.ChainHookInput
	if f.byProcess {
		hook = nftables.ChainHookOutput
	}
	f.chain = &nftables.Chain{Name: "faults", Table: f.table, Type: nftables.ChainTypeFilter,
		Hooknum: hook, Priority: nftables.ChainPriorityFilter, Policy: &policy}
	c, err := nftables.New()
	if err != nil {
		return nil, nftError("open netlink", err)
	}
	c.AddTable(f.table)
	c.DelTable(f.table) // start empty even if a table of this name is left over
	c.AddTable(f.table)
	c.AddChain(f.chain)
	if err := c.Flush(); err != nil {
		return nil, nftError("create table "+name, err)
	}
	if f.byProcess {
		// The mark rule goes in before any node starts: it turns on
		// connection tracking, which must see every connection's first
		// packet (one it picks up mid-stream has no mark, and may have
		// its directions swapped).
		if err := f.set(nil); err != nil {
			f.close()
			return nil, err
		}
	}
	return f, nil
}

func nftError(what string, err error) error {
	if errors.Is(err, unix.EPERM) || errors.Is(err, os.ErrPermission) || strings.Contains(err.Error(), "operation not permitted") {
		return fmt.Errorf("%w (nftables: %s: %v)", errNoPrivilege, what, err)
	}
	return fmt.Errorf("nftables: %s: %w", what, err)
}

// set replaces the chain's rules with rules, in one netlink batch.
func (f *firewall) set(rules []dropRule) error {
	c, err := nftables.New()
	if err != nil {
		return nftError("open netlink", err)
	}
	c.FlushChain(f.chain)
	if f.byProcess {
		c.AddRule(&nftables.Rule{Table: f.table, Chain: f.chain, Exprs: markRule(f.peerPort)})
	}
	for _, r := range rules {
		if r.srcGID != 0 {
			c.AddRule(&nftables.Rule{Table: f.table, Chain: f.chain, Exprs: r.ctExprs(r.srcGID, r.dst, 0)})
			c.AddRule(&nftables.Rule{Table: f.table, Chain: f.chain, Exprs: r.ctExprs(r.dstGID, r.src, 1)})
			continue
		}
		c.AddRule(&nftables.Rule{Table: f.table, Chain: f.chain, Exprs: r.exprs()})
	}
	if err := c.Flush(); err != nil {
		return nftError(fmt.Sprintf("set %d rules in table %s", len(rules), f.name), err)
	}
	return nil
}

// markRule marks each new connection to the peer port with the group ID
// of the process that dials it: tcp dport P ct state new ct mark set
// meta skgid.
func markRule(port uint16) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_TCP}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binary.BigEndian.AppendUint16(nil, port)},
		&expr.Ct{Register: 1, Key: expr.CtKeySTATE},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
			Mask: binary.NativeEndian.AppendUint32(nil, expr.CtStateBitNEW), Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: make([]byte, 4)},
		&expr.Meta{Key: expr.MetaKeySKGID, Register: 1},
		&expr.Ct{Register: 1, Key: expr.CtKeyMARK, SourceRegister: true},
	}
}

// ctExprs drops packets of connections marked mark (dialled by that
// node's process) to acceptor's peer port, in direction dir (0 original:
// the dialler's packets; 1 reply: the acceptor's).
func (r dropRule) ctExprs(mark uint32, acceptor net.IP, dir byte) []expr.Any {
	es := []expr.Any{
		&expr.Ct{Register: 1, Key: expr.CtKeyMARK},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binary.NativeEndian.AppendUint32(nil, mark)},
		&expr.Ct{Register: 1, Key: expr.CtKeyDST, Direction: 0},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: acceptor.To4()},
		&expr.Ct{Register: 1, Key: expr.CtKeyPROTODST, Direction: 0},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binary.BigEndian.AppendUint16(nil, r.dport)},
		&expr.Ct{Register: 1, Key: expr.CtKeyDIRECTION},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{dir}},
	}
	return append(append(es, r.lossExprs()...), &expr.Verdict{Kind: expr.VerdictDrop})
}

func (r dropRule) lossExprs() []expr.Any {
	if r.lossPPM == 0 {
		return nil
	}
	// numgen random mod 10⁶ < lossPPM; the number is in host order,
	// and cmp compares bytes, so turn it big-endian first.
	return []expr.Any{
		&expr.Numgen{Register: 1, Modulus: 1_000_000, Type: unix.NFT_NG_RANDOM},
		&expr.Byteorder{SourceRegister: 1, DestRegister: 1, Op: expr.ByteorderHton, Len: 4, Size: 4},
		&expr.Cmp{Op: expr.CmpOpLt, Register: 1, Data: binary.BigEndian.AppendUint32(nil, r.lossPPM)},
	}
}

func (r dropRule) exprs() []expr.Any {
	es := []expr.Any{
		// ip saddr
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: r.src.To4()},
		// ip daddr
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: r.dst.To4()},
		// meta l4proto tcp
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_TCP}},
		// tcp dport
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binary.BigEndian.AppendUint16(nil, r.dport)},
	}
	return append(append(es, r.lossExprs()...), &expr.Verdict{Kind: expr.VerdictDrop})
}

// close deletes the table.
func (f *firewall) close() error { return deleteTable(f.name) }

func deleteTable(name string) error {
	c, err := nftables.New()
	if err != nil {
		return nftError("open netlink", err)
	}
	c.DelTable(&nftables.Table{Name: name, Family: nftables.TableFamilyIPv4})
	if err := c.Flush(); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		return nftError("delete table "+name, err)
	}
	return nil
}

// splitbrainTables lists the IPv4 tables whose names start with
// TablePrefix.
func splitbrainTables() ([]string, error) {
	c, err := nftables.New()
	if err != nil {
		return nil, nftError("open netlink", err)
	}
	ts, err := c.ListTablesOfFamily(nftables.TableFamilyIPv4)
	if err != nil {
		return nil, nftError("list tables", err)
	}
	var out []string
	for _, t := range ts {
		if strings.HasPrefix(t.Name, TablePrefix) {
			out = append(out, t.Name)
		}
	}
	return out, nil
}
