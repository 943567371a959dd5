package main

import (
	"github.com/spf13/cobra"
	"github.com/splitbrain/splitbrain/harness/proc/node"
)

func init() { commands = append(commands, newNodeCmd) }

func newNodeCmd() *cobra.Command {
	var cl node.CommandLine
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

A node of your own, written to the contract in package harness/raftnode, is
served the same way, with the same flags, by node.Main or node.ServeIfNode.

The node exits cleanly (store closed) on SIGTERM or SIGINT.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			code, err := cl.Serve(cmd.Context(), nil, cmd.ErrOrStderr())
			switch {
			case code == 0:
				return nil
			case code == node.ExitUsage:
				return usageErr(err)
			default:
				return &exitError{code: code, err: err}
			}
		},
	}
	cl.Register(cmd.Flags())
	return cmd
}
