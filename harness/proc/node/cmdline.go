package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"
	"github.com/splitbrain/splitbrain/harness/raftkv"
	"github.com/splitbrain/splitbrain/harness/raftnode"
)

// Exit codes of a node process that the process world tells apart.
const (
	ExitUsage    = 2 // bad flags
	ExitDataLost = 3 // raftnode.ErrDataLost: replace the node under a new ID
	ExitCorrupt  = 4 // the store failed its checks
)

// CommandLine is a node process's command line: `splitbrain node`'s, and
// that of any node served with Main or ServeIfNode. The process world
// starts every node process with it.
type CommandLine struct {
	cfg                                         Config
	peers, logPath                              string
	bugs                                        []string
	electionTick, heartbeatTick, requestTimeout int
	snapshotEvery, compactKeep                  uint64
}

// Register defines the flags on f.
func (c *CommandLine) Register(f *pflag.FlagSet) {
	f.Uint64Var(&c.cfg.ID, "id", 0, "this node's raft ID (never reused)")
	f.StringVar(&c.cfg.DataDir, "data", "", "data directory (the store, a write-ahead log, is "+StoreFile+" in it)")
	f.StringVar(&c.cfg.PeerAddr, "peer-addr", "", "host:port for raft traffic from peers")
	f.StringVar(&c.cfg.APIAddr, "api-addr", "", "host:port for the HTTP KV protocol")
	f.StringVar(&c.peers, "peers", "", "the other nodes' peer addresses: ID=HOST:PORT,…")
	f.BoolVar(&c.cfg.Bootstrap, "bootstrap", false, "if the data directory is empty, start a new cluster of this node and --peers")
	f.BoolVar(&c.cfg.Join, "join", false, "if the data directory is empty, wait to be added to a running cluster")
	f.DurationVar(&c.cfg.Tick, "tick", 100*time.Millisecond, "raft tick at clock rate 1")
	f.Float64Var(&c.cfg.ClockRate, "clock-rate", 1, "clock rate: the tick runs every --tick / rate")
	f.Uint64Var(&c.cfg.Seed, "seed", 0, "seed of the transport's packet-fault randomness")
	f.IntVar(&c.electionTick, "election-tick", 0, "ticks without a leader before an election (default 10)")
	f.IntVar(&c.heartbeatTick, "heartbeat-tick", 0, "ticks between heartbeats (default 1)")
	f.IntVar(&c.requestTimeout, "request-timeout-ticks", 0, "ticks before a pending request ends unknown (writes) or failed (reads); default 5 × election tick")
	f.Uint64Var(&c.snapshotEvery, "snapshot-every", 0, "snapshot every N applied entries (default 1000)")
	f.Uint64Var(&c.compactKeep, "compact-keep", 0, "entries kept behind a snapshot (default 100)")
	f.StringSliceVar(&c.bugs, "bug", nil, "enable a known-bug canary of the reference node (repeatable)")
	f.StringVar(&c.logPath, "log", "", "append log lines here (default stderr)")
}

// ErrUsage marks a command line that cannot run.
var ErrUsage = errors.New("usage")

func usage(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUsage, fmt.Sprintf(format, args...))
}

// Config checks the command line and returns the node's Config, serving
// sys — or, sys nil, the reference node with the --bug canaries (which
// belong to it alone).
func (c *CommandLine) Config(sys *raftnode.System) (Config, error) {
	cfg := c.cfg
	p, err := ParsePeers(c.peers)
	if err != nil {
		return cfg, usage("--peers: %v", err)
	}
	cfg.Peers = p
	switch {
	case cfg.ID == 0 || cfg.DataDir == "" || cfg.PeerAddr == "" || cfg.APIAddr == "":
		return cfg, usage("--id, --data, --peer-addr and --api-addr are required")
	case cfg.Bootstrap && cfg.Join:
		return cfg, usage("--bootstrap and --join exclude each other")
	case !(cfg.ClockRate > 0):
		return cfg, usage("--clock-rate must be positive, got %v", cfg.ClockRate)
	case c.electionTick < 0 || c.heartbeatTick < 0 || c.requestTimeout < 0:
		return cfg, usage("--election-tick, --heartbeat-tick and --request-timeout-ticks must not be negative")
	}
	bugs, err := raftkv.ParseBugs(strings.Join(c.bugs, ","))
	if err != nil {
		return cfg, usage("--bug: %v", err)
	}
	if sys == nil {
		cfg.System = raftkv.System(bugs)
	} else {
		if len(bugs) > 0 {
			return cfg, usage("--bug %s: canaries belong to the reference node, not to %s", strings.Join(bugs.Names(), ","), sys.Name)
		}
		if err := sys.Validate(); err != nil {
			return cfg, usage("%v", err)
		}
		cfg.System = *sys
	}
	cfg.Raft = raftnode.Config{ElectionTick: c.electionTick, HeartbeatTick: c.heartbeatTick, RequestTimeoutTicks: c.requestTimeout,
		SnapshotEvery: c.snapshotEvery, CompactKeep: c.compactKeep}
	return cfg, nil
}

// Serve runs the node the command line describes (see Config for sys)
// until ctx is done, logging to --log (default stderr), and returns its
// exit code: 0 after a clean stop, ExitUsage for a bad command line,
// ExitDataLost for a member whose data is gone, ExitCorrupt for a store
// that failed its checks, 1 for any other failure.
func (c *CommandLine) Serve(ctx context.Context, sys *raftnode.System, stderr io.Writer) (int, error) {
	cfg, err := c.Config(sys)
	if err != nil {
		return ExitUsage, err
	}
	out := stderr
	if c.logPath != "" {
		f, err := os.OpenFile(c.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return ExitUsage, usage("--log: %v", err)
		}
		defer f.Close()
		out = f
	}
	cfg.Logger = slog.New(slog.NewTextHandler(out, nil)).With("node", cfg.ID)
	err = Run(ctx, cfg)
	var ce *CorruptError
	switch {
	case err == nil:
		return 0, nil
	case errors.Is(err, raftnode.ErrDataLost):
		cfg.Logger.Error("refusing to start", "err", err)
		return ExitDataLost, err
	case errors.As(err, &ce):
		cfg.Logger.Error("refusing to start", "err", err)
		return ExitCorrupt, err
	default:
		cfg.Logger.Error("stopped", "err", err)
		return 1, err
	}
}

// Main serves sys as a process-mode node — the transport, the store and
// the HTTP API that `splitbrain node` has — with `splitbrain node`'s
// command line (os.Args, with or without a leading "node"), until SIGTERM
// or SIGINT, and exits with Serve's code. A binary whose main is
//
//	func main() { node.Main(mynode.System) }
//
// is a node the process world can start (harness.Test.Binary). It never
// returns.
func Main(sys raftnode.System) {
	args := os.Args[1:]
	if len(args) > 0 && args[0] == "node" {
		args = args[1:]
	}
	os.Exit(serveArgs(args, sys))
}

// ServeIfNode serves sys as Main does, and exits, if this process was
// started as a node (its first argument is "node"); otherwise it returns
// at once. Called first in a test package's TestMain, it makes the test
// binary itself the node binary of the process world, which starts nodes
// from this process's own executable by default:
//
//	func TestMain(m *testing.M) {
//		node.ServeIfNode(mynode.System)
//		os.Exit(m.Run())
//	}
//
// so that harness.Test{Mode: "process", SystemImpl: mynode.System} runs
// the same node as real processes.
func ServeIfNode(sys raftnode.System) {
	if len(os.Args) > 1 && os.Args[1] == "node" {
		os.Exit(serveArgs(os.Args[2:], sys))
	}
}

func serveArgs(args []string, sys raftnode.System) int {
	fs := pflag.NewFlagSet("node", pflag.ContinueOnError)
	var c CommandLine
	c.Register(fs)
	if err := fs.Parse(args); err != nil {
		fmt.Fprintf(os.Stderr, "%s node: %v\n", sys.Name, err)
		return ExitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "%s node: unexpected arguments %q\n", sys.Name, fs.Args())
		return ExitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	code, err := c.Serve(ctx, &sys, os.Stderr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s node: %v\n", sys.Name, err)
	}
	return code
}
