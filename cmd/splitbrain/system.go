package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/splitbrain/splitbrain/harness"
)

func init() { commands = append(commands, newSystemCmd) }

func newSystemCmd() *cobra.Command {
	describe := func(cmd *cobra.Command, names []string) error {
		for _, name := range names {
			s, err := harness.ResolveSystem(cmd.Context(), name)
			if err != nil {
				return classify(err)
			}
			c := s.Caps()
			fmt.Fprintf(cmd.OutOrStdout(), "%s\n  version:       %s\n  membership:    %s\n  clock skew:    %v\n  packet delay/dup/reorder: %v\n  partitions:    %s\n  reads:         %s\n",
				s.Name(), orNone(s.Version()), orNone(strings.Join(c.Membership, ", ")), c.ClockRate, c.SenderPackets,
				map[bool]string{true: "by source address and peer port (the node dials from its own address)", false: "by sending process (any binary)"}[c.DialerSends],
				strings.Join(append([]string{"linearizable"}, c.ReadConsistency...), ", "))
		}
		return nil
	}
	cmd := &cobra.Command{
		Use:   "system NAME...",
		Short: "Describe systems under test (building etcd if needed)",
		Long: `Describe each named system: its version and what it can take. NAME is raftkv
(the reference node), etcd (the newest release), etcd@vX.Y.Z, etcd@debian, or
the path of a system file. An etcd release is built from its Go module the
first time it is named (a minute or two), then cached.`,
		Args: cobra.MinimumNArgs(1),
		RunE: describe,
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "build NAME...",
		Short: "Build (and cache) what the named systems need, e.g. etcd",
		Args:  cobra.MinimumNArgs(1),
		RunE:  describe,
	})
	return cmd
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
