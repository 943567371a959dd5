// Package rapiddefaults makes a package's rapid property tests
// deterministic by default. A test file imports it for its side effect:
//
//	import _ "github.com/splitbrain/splitbrain/harness/rapiddefaults"
//
// and then, unless the person running the tests says otherwise:
//
//   - rapid starts from a fixed seed (Seed) instead of a random one, so
//     that `go test ./...` gives the same result on every run of a commit.
//     RAPID_SEED=N (or -rapid.seed=N) starts from another seed to explore
//     more cases; RAPID_CHECKS (-rapid.checks) runs more of them.
//   - rapid writes no fail files. rapid would write one under
//     testdata/rapid/<Test>/ in the package's source directory, where it
//     dirties the work tree and is replayed first by every later run, so
//     that one failure sticks. A failure prints instead the seed that
//     replays it: -rapid.seed=N (its first check is the failing one).
//     RAPID_NOFAILFILE=false (-rapid.nofailfile=false) asks for a fail
//     file anyway; testdata/rapid/ is git-ignored, and
//     -rapid.failfile=PATH replays one (delete it afterwards: rapid
//     replays every fail file it finds there on each run).
//
// The flags are set in init, after rapid registered them and before the
// command line is parsed, so a flag on the command line still wins; an
// environment variable keeps rapid's own reading of it.
package rapiddefaults

import (
	"flag"
	"fmt"
	"os"
	"sort"

	_ "pgregory.net/rapid" // registers the flags set here
)

// Seed is the seed rapid starts from unless told otherwise.
const Seed = 1

func init() {
	d := defaults(os.LookupEnv)
	names := make([]string, 0, len(d))
	for name := range d {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := flag.Set(name, d[name]); err != nil {
			panic(fmt.Sprintf("rapiddefaults: setting -%s=%s: %v", name, d[name], err))
		}
	}
}

// defaults returns the rapid flags to set, given the environment: a
// fixed seed unless RAPID_SEED is set, no fail files unless
// RAPID_NOFAILFILE is set.
func defaults(lookup func(string) (string, bool)) map[string]string {
	out := map[string]string{}
	if _, ok := lookup("RAPID_SEED"); !ok {
		out["rapid.seed"] = fmt.Sprint(Seed)
	}
	if _, ok := lookup("RAPID_NOFAILFILE"); !ok {
		out["rapid.nofailfile"] = "true"
	}
	return out
}

// Describe says which seed rapid starts from and how to choose another,
// for a property test to log: "rapid seed 1 (the fixed default; …)".
func Describe() string {
	seed := flag.Lookup("rapid.seed").Value.String()
	how := "set by RAPID_SEED or -rapid.seed"
	if seed == fmt.Sprint(Seed) {
		how = "the fixed default"
	}
	if seed == "0" {
		how = "0: rapid picks a random seed and prints it on failure"
	}
	return fmt.Sprintf("rapid seed %s (%s; RAPID_SEED=N or -rapid.seed=N starts elsewhere, RAPID_CHECKS=N runs more checks)", seed, how)
}
