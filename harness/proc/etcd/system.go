package etcd

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/splitbrain/splitbrain/harness/proc"
)

// Newest is the etcd version `--system etcd` builds.
const Newest = "v3.7.3"

// DebianBinary is where Debian's etcd-server package installs etcd (3.4
// on Debian 12): `--system etcd@debian`.
const DebianBinary = "/usr/bin/etcd"

// IsName reports whether name names etcd: "etcd" or "etcd@…".
func IsName(name string) bool { return name == "etcd" || strings.HasPrefix(name, "etcd@") }

var versionRE = regexp.MustCompile(`^v3\.(\d+)\.(\d+)(-[0-9A-Za-z.-]+)?$`)

// System is etcd as the process world's system under test: each node is
// the adapter (see adapter/main.go) running one etcd member as its child.
type System struct {
	name    string // etcd@v3.7.3, etcd@debian, etcd@/path
	etcd    string // the etcd binary
	adapter string
	version string // what etcd --version says
}

var _ proc.System = (*System)(nil)

// New resolves an etcd system name, building what it needs (once, cached):
//
//	etcd              the newest release, built from go.etcd.io/etcd/server/v3 (Newest)
//	etcd@v3.5.0       that release, built from go.etcd.io/etcd/server/v3 (v3.5.0 or later)
//	etcd@debian       Debian's etcd-server package (/usr/bin/etcd)
//	etcd@/path/etcd   an etcd binary of your own
//
// Errors wrap proc.ErrBadSystem when the name is at fault. progress gets
// a line before a build (nil: quiet).
func New(ctx context.Context, name string, progress io.Writer) (*System, error) {
	if !IsName(name) {
		return nil, fmt.Errorf("%w: %q does not name etcd", proc.ErrBadSystem, name)
	}
	v := strings.TrimPrefix(strings.TrimPrefix(name, "etcd"), "@")
	s := &System{name: name}
	switch {
	case v == "" || v == "latest":
		v = Newest
		s.name = "etcd@" + Newest
		fallthrough
	case strings.HasPrefix(v, "v"):
		m := versionRE.FindStringSubmatch(v)
		if m == nil {
			return nil, fmt.Errorf("%w: %s: want a release such as etcd@%s", proc.ErrBadSystem, name, Newest)
		}
		if minor, _ := strconv.Atoi(m[1]); minor < 5 {
			return nil, fmt.Errorf("%w: %s: etcd is built from the module go.etcd.io/etcd/server/v3, which starts at v3.5.0; for 3.4 use etcd@debian (apt-get install etcd-server)", proc.ErrBadSystem, name)
		}
		bin, err := BuildEtcd(ctx, v, progress)
		if err != nil {
			return nil, err
		}
		s.etcd = bin
	case v == "debian":
		if _, err := os.Stat(DebianBinary); err != nil {
			return nil, fmt.Errorf("%w: %s: Debian's etcd is not installed at %s (apt-get install etcd-server)", proc.ErrBadSystem, name, DebianBinary)
		}
		s.etcd = DebianBinary
	case strings.HasPrefix(v, "/"):
		if _, err := os.Stat(v); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", proc.ErrBadSystem, name, err)
		}
		s.etcd = v
	default:
		return nil, fmt.Errorf("%w: %s: want etcd, etcd@vX.Y.Z (v3.5.0 or later), etcd@debian or etcd@/path/to/etcd", proc.ErrBadSystem, name)
	}
	var err error
	if s.version, err = etcdVersion(ctx, s.etcd); err != nil {
		return nil, err
	}
	if s.adapter, err = BuildAdapter(ctx, progress); err != nil {
		return nil, err
	}
	return s, nil
}

// etcdVersion asks the binary: "3.4.23".
func etcdVersion(ctx context.Context, bin string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "--version").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%w: %s --version: %v: %s", proc.ErrBadSystem, bin, err, tail(string(out), 3))
	}
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(line, "etcd Version: "); ok {
			return strings.TrimSpace(v), nil
		}
	}
	return "", fmt.Errorf("%w: %s --version says no version: %s", proc.ErrBadSystem, bin, tail(string(out), 3))
}

// Name implements proc.System.
func (s *System) Name() string { return s.name }

// Version implements proc.System: etcd's own version string, and where
// the binary is.
func (s *System) Version() string { return fmt.Sprintf("etcd %s (%s)", s.version, s.etcd) }

// Binary is the etcd binary.
func (s *System) Binary() string { return s.etcd }

// Caps implements proc.System: etcd's member API does every membership
// change (a new member is added, then started); no clock control and no
// packet faults done by the sender; partitions at the packet level (etcd
// peers send over connections dialled in both directions, from
// 127.0.0.1); serializable reads on request.
func (s *System) Caps() proc.Caps {
	return proc.Caps{
		Membership:      []string{"add", "add-learner", "promote", "remove"},
		AddBeforeStart:  true,
		ReadConsistency: []string{"serializable"},
	}
}

// Wipe implements proc.System: remove the member's data directory.
func (s *System) Wipe(n proc.NodeSpec) error { return os.RemoveAll(n.DataDir) }

// Command implements proc.System: the adapter, with etcd's command line
// after "--".
func (s *System) Command(n proc.NodeSpec) ([]string, error) {
	tick := n.Tick
	if tick <= 0 {
		tick = 100 * time.Millisecond
	}
	election := n.Raft.ElectionTick
	if election == 0 {
		election = 10
	}
	args := []string{s.adapter,
		"--id=" + strconv.FormatUint(n.ID, 10),
		"--api-addr=" + n.APIAddr,
		"--endpoint=http://" + n.ClientAddr,
		"--peer-port=" + strconv.Itoa(n.PeerPort),
		"--request-timeout=" + n.RequestTimeout.String(),
	}
	switch n.ReadConsistency {
	case "", "linearizable":
	case "serializable":
		args = append(args, "--serializable")
	default:
		return nil, fmt.Errorf("etcd: no %q reads", n.ReadConsistency)
	}
	var cluster []string
	for _, m := range n.Members {
		cluster = append(cluster, fmt.Sprintf("%s=http://%s", m.Name, m.PeerAddr))
	}
	state := "new"
	if n.Join {
		state = "existing"
	}
	args = append(args, "--", s.etcd,
		"--name="+n.Name,
		"--data-dir="+n.DataDir,
		"--listen-peer-urls=http://"+n.PeerAddr,
		"--initial-advertise-peer-urls=http://"+n.PeerAddr,
		"--listen-client-urls=http://"+n.ClientAddr,
		"--advertise-client-urls=http://"+n.ClientAddr,
		"--initial-cluster="+strings.Join(cluster, ","),
		"--initial-cluster-state="+state,
		"--initial-cluster-token="+n.Cluster,
		"--heartbeat-interval="+strconv.FormatInt(tick.Milliseconds(), 10),
		"--election-timeout="+strconv.FormatInt(int64(election)*tick.Milliseconds(), 10),
		"--logger=zap", "--log-outputs=stderr",
	)
	if n.Raft.SnapshotEvery > 0 {
		args = append(args, "--snapshot-count="+strconv.FormatUint(n.Raft.SnapshotEvery, 10))
	}
	return args, nil
}
