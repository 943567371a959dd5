package raftkv

// This package's rapid properties start from a fixed seed and write no
// fail files: go test gives the same result on every run of a commit (see
// harness/rapiddefaults for how to explore more, or replay a failure).
import _ "github.com/splitbrain/splitbrain/harness/rapiddefaults"
