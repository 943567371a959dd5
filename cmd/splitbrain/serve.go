package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"

	"github.com/spf13/cobra"
	"github.com/splitbrain/splitbrain/harness/serve"
)

func init() { commands = append(commands, newServeCmd) }

// servePages are further pages of the web UI (such as the campaign
// listing), each registered by its own file's init, as commands are.
var servePages []func() serve.Page

func newServeCmd() *cobra.Command {
	var o serve.Options
	var addr string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Browse runs in a web UI: verdicts, explanations, plots, diagrams, timelines, logs",
		Long: `Serve the results directory as a web UI. The index lists every run, newest first,
coloured by verdict (green valid, red invalid, yellow unknown, grey incomplete),
filtered by verdict and test name. A run's page shows its parameters, the
verdict and the explanation of the first anomaly, the repro command, the fault
schedule, stats, latency and rate plots, porcupine's linearizability diagram,
the timeline, the node logs page by page, and its files for download.

The server only reads, serves nothing outside the results directory, and binds
loopback by default (where it answers only to localhost names). Ctrl-C stops it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if st, err := os.Stat(o.Results); err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return usageErr(fmt.Errorf("results directory %s does not exist (runs create it; see splitbrain run --results)", o.Results))
				}
				return usageErr(err)
			} else if !st.IsDir() {
				return usageErr(fmt.Errorf("results directory %s is not a directory", o.Results))
			}
			if host, _, err := net.SplitHostPort(addr); err != nil {
				return usageErr(fmt.Errorf("--addr %q: want host:port, e.g. %s", addr, serve.DefaultAddr))
			} else if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
				fmt.Fprintf(os.Stderr, "splitbrain: warning: serving on %s, not loopback: anyone who can reach it can read these results\n", addr)
			}
			for _, p := range servePages {
				o.Pages = append(o.Pages, p())
			}
			err := serve.ListenAndServe(cmd.Context(), addr, o, func(url string) {
				fmt.Printf("serving %s at %s (Ctrl-C to stop)\n", o.Results, url)
			})
			if err != nil {
				return usageErr(err)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Results, "results", "results", "results directory")
	f.StringVar(&addr, "addr", serve.DefaultAddr, "address to listen on (host:port; port 0 picks a free one)")
	f.StringSliceVar(&o.Hosts, "allow-host", nil, "host name to answer besides localhost, 127.0.0.1 and ::1 (a tunnel or proxy name; repeatable); off loopback, the only names answered")
	f.IntVar(&o.LogLines, "log-lines", serve.DefaultLogLines, "lines per page of a node log")
	return cmd
}
