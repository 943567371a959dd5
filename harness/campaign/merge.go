package campaign

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/splitbrain/splitbrain/harness"
)

// Merge combines the indexes of campaigns that ran shards of the same
// matrix (the same fingerprint) into one campaign under
// <results>/campaigns/<UTC time>-merged/, with one index.json and one
// summary.html whose run directories point into the shards' own (by
// relative paths, so copy the shard directories side by side first when
// they come from several machines). A shard given twice, or a run found
// in two shards, is an error; missing shards are allowed and shown.
func Merge(dirs []string, results, command string) (*Index, error) {
	if len(dirs) == 0 {
		return nil, fmt.Errorf("%w: merge: name the campaign directories to merge", harness.ErrUsage)
	}
	if results == "" {
		results = "results"
	}
	var srcs []*Index
	for _, d := range dirs {
		x, err := Read(d)
		if err != nil {
			return nil, fmt.Errorf("%w: merge: %w", harness.ErrUsage, err)
		}
		srcs = append(srcs, x)
	}
	first := srcs[0]
	m := &Index{Version: indexVersion, Command: command, Params: first.Params, Fingerprint: first.Fingerprint,
		Started: first.Started, Finished: first.Finished, Git: first.Git, Runs: []Entry{}}
	m.Params.Shard, m.Params.Workers = Shard{}, 0
	seenShard := map[Shard]string{}
	seenRun := map[int]string{}
	planned := 0
	var commits []string
	for i, x := range srcs {
		if x.Fingerprint != first.Fingerprint {
			return nil, fmt.Errorf("%w: merge: %s and %s ran different matrices (fingerprints %s and %s: different cells, seeds, bugs, mode or run flags)",
				harness.ErrUsage, dirs[0], dirs[i], first.Fingerprint, x.Fingerprint)
		}
		shards := x.Shards
		if len(shards) == 0 {
			shards = []Shard{x.Params.Shard}
		}
		for _, s := range shards {
			if s.N <= 1 {
				s = Shard{1, 1}
			}
			if other, dup := seenShard[s]; dup {
				return nil, fmt.Errorf("%w: merge: shard %s is in both %s and %s", harness.ErrUsage, s, other, dirs[i])
			}
			seenShard[s] = dirs[i]
			m.Shards = append(m.Shards, s)
		}
		for _, e := range x.Runs {
			if other, dup := seenRun[e.Index]; dup {
				return nil, fmt.Errorf("%w: merge: run %s (index %d) is in both %s and %s", harness.ErrUsage, e.Key, e.Index, other, dirs[i])
			}
			seenRun[e.Index] = dirs[i]
		}
		if x.Planned < 0 || planned < 0 {
			planned = -1
		} else {
			planned += x.Planned
		}
		if x.Started.Before(m.Started) {
			m.Started = x.Started
		}
		if x.Finished.After(m.Finished) {
			m.Finished = x.Finished
		}
		m.Interrupted = m.Interrupted || x.Interrupted
		if c := x.Git.String(); !slices.Contains(commits, c) {
			commits = append(commits, c)
		}
	}
	ns := map[int]bool{}
	for s := range seenShard {
		ns[s.N] = true
	}
	if len(ns) > 1 {
		return nil, fmt.Errorf("%w: merge: the shards split the list differently (%v)", harness.ErrUsage, m.Shards)
	}
	slices.SortFunc(m.Shards, func(a, b Shard) int { return a.I - b.I })
	m.Planned = planned
	if len(commits) > 1 {
		m.Git.Error = strings.TrimPrefix(m.Git.Error+"; ", "; ") + "the shards ran different code: " + strings.Join(commits, " | ")
	}
	m.WallSeconds = m.Finished.Sub(m.Started).Seconds()

	merged, id, err := newCampaignDir(results, campaignID(time.Now(), "-merged"), false)
	if err != nil {
		return nil, fmt.Errorf("campaign directory: %w", err)
	}
	m.ID, m.dir = id, merged
	for _, x := range srcs {
		rel, err := filepath.Rel(absPath(merged), absPath(x.dir))
		if err != nil {
			return nil, err
		}
		m.Merged = append(m.Merged, filepath.ToSlash(rel))
		for _, e := range x.Runs {
			e.Dir = filepath.ToSlash(filepath.Join(rel, e.Dir))
			m.Runs = append(m.Runs, e)
		}
	}
	if err := m.write(); err != nil {
		return nil, err
	}
	return m, writeSummary(m)
}
