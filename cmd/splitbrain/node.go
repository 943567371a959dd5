package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/splitbrain/splitbrain/harness/proc"
	"github.com/splitbrain/splitbrain/harness/proc/node"
	"github.com/splitbrain/splitbrain/harness/raftkv"
)

func init() { commands = append(commands, newNodeCmd) }

func newNodeCmd() *cobra.Command {
	var cfg node.Config
	var peers, logPath string
	var bugs []string
	var electionTick, heartbeatTick, requestTimeout int
	cmd := &cobra.Command{
		Use:   "node",
		Short: "Run one node of the reference raft KV store (process mode starts these)",
		Long: `Run one node of the reference raft key-value store: the same core as the
simulation, driven by goroutines, with a write-ahead log for storage (fsynced
before anything is acknowledged, every batch checksummed), TCP transport to its peers, and the KV
protocol over HTTP/JSON on --api-addr (see "The KV protocol" in README.md).

An empty data directory is bootstrapped into a new cluster of --peers with
--bootstrap, or waits to be added to a running cluster with --join. With neither,
an empty data directory means the node lost its data: it refuses to start (exit
3) and must be replaced under a new ID. A store that fails its checks (checksum,
gap in the log, unreadable file) is refused with exit 4, never used.

The node exits cleanly (store closed) on SIGTERM or SIGINT.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := node.ParsePeers(peers)
			if err != nil {
				return usageErr(fmt.Errorf("--peers: %w", err))
			}
			cfg.Peers = p
			if cfg.ID == 0 || cfg.DataDir == "" || cfg.PeerAddr == "" || cfg.APIAddr == "" {
				return usageErr(errors.New("--id, --data, --peer-addr and --api-addr are required"))
			}
			if cfg.Bootstrap && cfg.Join {
				return usageErr(errors.New("--bootstrap and --join exclude each other"))
			}
			if !(cfg.ClockRate > 0) {
				return usageErr(fmt.Errorf("--clock-rate must be positive, got %v", cfg.ClockRate))
			}
			bs, err := raftkv.ParseBugs(strings.Join(bugs, ","))
			if err != nil {
				return usageErr(fmt.Errorf("--bug: %w", err))
			}
			cfg.Raft = raftkv.Config{ElectionTick: electionTick, HeartbeatTick: heartbeatTick,
				SnapshotEvery: cfg.Raft.SnapshotEvery, CompactKeep: cfg.Raft.CompactKeep,
				RequestTimeoutTicks: requestTimeout, Bugs: bs}
			out := os.Stderr
			if logPath != "" {
				f, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
				if err != nil {
					return usageErr(fmt.Errorf("--log: %w", err))
				}
				defer f.Close()
				out = f
			}
			cfg.Logger = slog.New(slog.NewTextHandler(out, nil)).With("node", cfg.ID)
			err = node.Run(cmd.Context(), cfg)
			var ce *node.CorruptError
			switch {
			case err == nil:
				return nil
			case errors.Is(err, raftkv.ErrDataLost):
				cfg.Logger.Error("refusing to start", "err", err)
				return &exitError{code: proc.ExitDataLost, err: err}
			case errors.As(err, &ce):
				cfg.Logger.Error("refusing to start", "err", err)
				return &exitError{code: proc.ExitCorrupt, err: err}
			default:
				cfg.Logger.Error("stopped", "err", err)
				return &exitError{code: 1, err: err}
			}
		},
	}
	f := cmd.Flags()
	f.Uint64Var(&cfg.ID, "id", 0, "this node's raft ID (never reused)")
	f.StringVar(&cfg.DataDir, "data", "", "data directory (the store, a write-ahead log, is "+node.StoreFile+" in it)")
	f.StringVar(&cfg.PeerAddr, "peer-addr", "", "host:port for raft traffic from peers")
	f.StringVar(&cfg.APIAddr, "api-addr", "", "host:port for the HTTP KV protocol")
	f.StringVar(&peers, "peers", "", "the other nodes' peer addresses: ID=HOST:PORT,…")
	f.BoolVar(&cfg.Bootstrap, "bootstrap", false, "if the data directory is empty, start a new cluster of this node and --peers")
	f.BoolVar(&cfg.Join, "join", false, "if the data directory is empty, wait to be added to a running cluster")
	f.DurationVar(&cfg.Tick, "tick", 100*time.Millisecond, "raft tick at clock rate 1")
	f.Float64Var(&cfg.ClockRate, "clock-rate", 1, "clock rate: the tick runs every --tick / rate")
	f.Uint64Var(&cfg.Seed, "seed", 0, "seed of the transport's packet-fault randomness")
	f.IntVar(&electionTick, "election-tick", 0, "ticks without a leader before an election (default 10)")
	f.IntVar(&heartbeatTick, "heartbeat-tick", 0, "ticks between heartbeats (default 1)")
	f.IntVar(&requestTimeout, "request-timeout-ticks", 0, "ticks before a pending request ends unknown (writes) or failed (reads); default 5 × election tick")
	f.Uint64Var(&cfg.Raft.SnapshotEvery, "snapshot-every", 0, "snapshot every N applied entries (default 1000)")
	f.Uint64Var(&cfg.Raft.CompactKeep, "compact-keep", 0, "entries kept behind a snapshot (default 100)")
	f.StringSliceVar(&bugs, "bug", nil, "enable a known-bug canary (repeatable)")
	f.StringVar(&logPath, "log", "", "append log lines here (default stderr)")
	return cmd
}
