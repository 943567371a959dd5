package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/splitbrain/splitbrain/harness/proc"
)

func init() { commands = append(commands, newCleanCmd) }

func newCleanCmd() *cobra.Command {
	var run, watch string
	cmd := &cobra.Command{
		Use:   "clean",
		Short: "Remove what crashed process-mode runs left behind",
		Long: `Clean finds the leftovers of process-mode runs whose harness died without
cleaning up (SIGKILL, a crash) and removes them: node processes (marked with
` + proc.RunEnv + ` in their environment), nftables tables named ` + proc.TablePrefix + `<run>,
and temporary directories ` + proc.TempPrefix + `<run>-*. Runs whose harness still runs are
left alone. It prints what it removed, or "nothing to clean".

A run normally needs none of this: its nodes die with the harness (process
group, parent-death signal), and a watchdog process runs this cleanup when the
harness dies. Deleting nftables tables needs root (CAP_NET_ADMIN).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var r proc.CleanReport
			if watch != "" {
				var err error
				if r, err = proc.Watch(watch); err != nil {
					return usageErr(err)
				}
			} else {
				r = proc.Clean(run)
			}
			fmt.Fprintln(cmd.OutOrStdout(), r)
			if len(r.Errors) > 0 {
				return &exitError{code: 1, err: errors.Join(r.Errors...)}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&run, "run", "", "clean this run (its tag, pid_start_n) even if its harness still runs")
	cmd.Flags().StringVar(&watch, "watch", "", "watchdog mode: wait for the harness of this run to die, then clean it")
	cmd.Flags().MarkHidden("watch")
	return cmd
}
