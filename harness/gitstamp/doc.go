// Package gitstamp records the git state of the code under test, so that
// every run and campaign says exactly which code produced it.
//
// Read asks the git binary about a directory and returns a Stamp: the
// work tree's top level, the origin remote, the branch (or detached HEAD),
// the commit, how far the branch is ahead of and behind its upstream, and
// the changed paths. The Stamp carries a traffic-light Status, as a
// git-aware shell prompt shows it:
//
//	red     dirty  the tree differs from the commit (untracked files count)
//	yellow  ahead  the commit has not reached the upstream
//	green   clean  the commit is the code, and it is (as far as git knows) shared
//	grey    none   not a repository, or git could not say (Error tells why)
//
// Precedence is dirty > ahead > clean. The stamp goes into test.json as
// JSON and into the run summary as one line (String, or ANSI for a
// terminal):
//
//	main@1a2b3c4 dirty (3 files), ahead 1 of origin/main
//
// Read never fails. The harness must still run when git is missing, the
// directory is not a repository, the repository belongs to another user
// (git's safe.directory check) or git is slow; the stamp then says so in
// Error instead of stopping the run. Read sets GIT_OPTIONAL_LOCKS=0 so it
// never takes the index lock: stamping must not make a concurrent commit
// in the same checkout fail.
//
// The stamp describes the host, not the simulated history, so it is never
// part of a deterministic output; its path list is still sorted, so the
// same tree always gives the same stamp.
package gitstamp
