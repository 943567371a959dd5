// Package serve is the web UI over a results store: `splitbrain serve`.
//
// A person inspecting failures wants one place to see every run and, for
// the one that failed, everything about it. The index lists the run
// directories of a results root (<results>/<name>/<UTC time>/) newest
// first, coloured by verdict — green valid, red invalid, yellow unknown,
// grey incomplete (no readable results.json: killed, or still running) —
// with test name, time, mode, seed, nodes, faults, operations and the git
// commit the run was built from. A run whose verdict is unknown says why
// on its badge, and one that was interrupted, killed (and checked
// since) or whose check timed out is tagged so, with the reason under its
// name; its page gives each reason as a finding. The index filters by
// verdict and by name on the
// server and pages, so thousands of runs cost one directory scan and a
// few stats per run (summaries are cached by the size and mtime of the
// files they come from). The run page shows the parameters (test.json),
// the verdict with the plain-language explanation of the first anomaly,
// the repro command with a copy button, the fault schedule, the stats,
// the latency and rate plots, porcupine's diagram and the timeline (in
// sandboxed frames), the node logs a page at a time (?log=n1&page=3), and
// every file of the directory for viewing or download. Run directories
// need not sit at the top: a Page (campaigns) names the directories of
// its runs, and the index lists those too, labelled with their campaign.
//
// The server only reads, and only inside the results root. Each request
// path is checked before routing: segments that decode to "." or "..",
// encoded slashes and backslashes, double encoding ("%252e"), control
// characters and empty segments are refused with 400, hidden files with
// 404; the mux's clean-and-redirect never happens. Every file is then
// opened through an os.Root on the results directory, which follows
// symbolic links only while they stay inside it: the relative latest
// links work (run pages redirect them to the run they name), links that
// leave the root or are absolute are refused. Only regular files and
// directories are opened: a name is statted through the root first, and a
// FIFO, socket or device is refused without being opened (opening a FIFO
// waits for a writer, pinning a thread per request); the open itself is
// non-blocking and checked to be of what was statted. Directories are
// never listed except as the pages render them; a run directory asked for
// as a file (a campaign summary's "dir/" link) redirects to its page.
// Pages carry a Content Security
// Policy allowing only the server's own stylesheet, script, images and
// frames; the results' own HTML (porcupine's diagram, the timeline) needs
// inline script, so it is served in a CSP sandbox, an opaque origin that
// cannot touch the UI. ListenAndServe binds loopback by default and then
// answers only loopback Host names, against DNS rebinding.
//
// Nothing in a run directory can make a page fail: a torn history, a
// missing or malformed results.json or test.json are shown for what they
// are, with the command that checks what was recorded.
//
// Listings that are not runs — campaigns — plug in as a Page (see Page
// and View); the index skips the top-level directories in SkipDirs.
package serve
