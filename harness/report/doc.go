// Package report draws what a person looks at when a test fails: the
// latency and throughput plots and the timeline of a history, as Jepsen
// users know them (latency-raw.png, rate.png, timeline.html), with the
// faults drawn in.
//
// Both read a history one event at a time, after a first pass (a Survey)
// that counts it and gathers its nemesis events: a Plotter and a
// TimelineWriter hold the points drawn and the pages still open, never the
// history, so that a history of millions of operations is drawn in memory
// that does not grow with it. WritePlots and WriteTimeline are the same
// fed from memory.
//
// WritePlots renders two PNGs with gonum/plot. latency.png puts one point
// per client op at its invoke time with its latency on a log axis, colour
// by function (read, write, cas) and shape by outcome (ok dot, fail cross,
// info triangle; an info op's latency runs to its info event, or to the
// end of the history if it never completed). rate.png draws completions
// per second per function and outcome in buckets sized to the run (1 s for
// a one-minute test). Both shade every fault window across the data, draw
// instant faults as dashed lines, and label each window in a strip above
// the data whose lanes keep overlapping windows apart; legends sit outside
// the data. Only faults that happened are drawn so: nemesis events that
// are notes (a scenario's message, or the nemesis saying it skipped a
// fault: no node matched its target, no leader) or carry an error (the
// fault was tried and failed) open and close no window; they are short
// unlabelled ticks at the top of the data. Above 30,000 ops the latency
// plot thins ok ops to every n-th (and, if they are many, fail and info
// ops too) and says so in its title ("1 in 34 ok, all fail/info"); the
// rate plot aggregates into about a hundred buckets and names their width.
// Either draws in time bounded by its points, whatever the history's size.
//
// WriteTimeline writes one self-contained HTML file: a column per client
// process, each op a box from invoke to completion coloured by outcome
// with its details on hover, a nemesis column of fault windows that are
// also shaded across the process columns, and of the notes, skipped and
// failed faults, each saying which it was and why, casting no shade. Large histories are split into
// pages of PageOps ops, all in the one file (a results directory is
// opened from disk, with no server to generate pages on demand), shown by
// URL fragment through CSS so that #op-1234 opens the page holding that
// op; a little inline script adds keyboard paging and a jump-to-index box.
// With a Focus the file opens on the focus op's page, scrolled to it and
// outlined.
//
// A history of more than PagesPerFile pages is not one file: a browser
// should not have to load hundreds of megabytes. TimelineWriter then
// writes the pages in files of PagesPerFile pages (timeline/part-0001.html
// …, each a few megabytes, laid out exactly as the one-file timeline lays
// out those pages), as their pages complete, and timeline.html becomes
// their index: every page with its range (pages where faults begin
// outlined), every fault window with the page it begins on, a link to
// the operation the check blames, and a jump-to-index box.
//
// Output is a pure function of the events and options: no clocks, no map
// order, so the same history gives the same bytes.
package report
