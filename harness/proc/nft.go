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

// dropRule drops TCP packets from src to dst's port dport: with
// probability LossPPM/10⁶, or always if LossPPM is 0.
type dropRule struct {
	src, dst net.IP
	dport    uint16
	lossPPM  uint32
}

func (r dropRule) String() string {
	s := fmt.Sprintf("ip saddr %s ip daddr %s tcp dport %d", r.src, r.dst, r.dport)
	if r.lossPPM > 0 {
		s += fmt.Sprintf(" numgen random mod 1000000 < %d", r.lossPPM)
	}
	return s + " drop"
}

// firewall is a run's own nftables table: one chain on the input hook
// whose rules are rebuilt, atomically, on every change.
type firewall struct {
	name  string
	table *nftables.Table
	chain *nftables.Chain
}

// errNoPrivilege says nftables refused us.
var errNoPrivilege = errors.New("process mode needs root (CAP_NET_ADMIN) to install nftables rules for network faults; run as root, or pass --no-net-faults to run without partitions and packet loss")

// newFirewall creates the table (replacing a stale one of the same name).
func newFirewall(name string) (*firewall, error) {
	f := &firewall{name: name}
	f.table = &nftables.Table{Name: name, Family: nftables.TableFamilyIPv4}
	policy := nftables.ChainPolicyAccept
	f.chain = &nftables.Chain{Name: "faults", Table: f.table, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookInput, Priority: nftables.ChainPriorityFilter, Policy: &policy}
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
	for _, r := range rules {
		c.AddRule(&nftables.Rule{Table: f.table, Chain: f.chain, Exprs: r.exprs()})
	}
	if err := c.Flush(); err != nil {
		return nftError(fmt.Sprintf("set %d rules in table %s", len(rules), f.name), err)
	}
	return nil
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
	if r.lossPPM > 0 {
		// numgen random mod 10⁶ < lossPPM; the number is in host order,
		// and cmp compares bytes, so turn it big-endian first.
		es = append(es,
			&expr.Numgen{Register: 1, Modulus: 1_000_000, Type: unix.NFT_NG_RANDOM},
			&expr.Byteorder{SourceRegister: 1, DestRegister: 1, Op: expr.ByteorderHton, Len: 4, Size: 4},
			&expr.Cmp{Op: expr.CmpOpLt, Register: 1, Data: binary.BigEndian.AppendUint32(nil, r.lossPPM)},
		)
	}
	return append(es, &expr.Verdict{Kind: expr.VerdictDrop})
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
