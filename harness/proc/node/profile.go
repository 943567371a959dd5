package node

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"time"
)

// ProfileEnv names an environment variable: when it holds a directory,
// the node writes CPU profiles there, one per ProfileChunk of its life
// (cpu-n<ID>-<pid>-<k>.pprof), so that a node ended by SIGKILL (as the
// process world ends its nodes) loses at most the last chunk. `go tool
// pprof` merges the chunks of a run:
//
//	SPLITBRAIN_NODE_CPUPROFILE=/tmp/prof go test -bench Process ./harness/proc
//	go tool pprof -top /tmp/prof/cpu-*.pprof
const ProfileEnv = "SPLITBRAIN_NODE_CPUPROFILE"

// ProfileChunk is the span of one CPU profile file.
const ProfileChunk = 4 * time.Second

// profileChunks writes CPU profiles into dir until stop is closed. A
// profile that cannot be written is logged and ends the profiling, never
// the node.
func (s *Server) profileChunks(dir string, stop <-chan struct{}) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		s.log.Warn("cpu profile: no directory", "dir", dir, "err", err)
		return
	}
	for k := 0; ; k++ {
		path := filepath.Join(dir, fmt.Sprintf("cpu-n%d-%d-%03d.pprof", s.cfg.ID, os.Getpid(), k))
		f, err := os.Create(path)
		if err != nil {
			s.log.Warn("cpu profile", "err", err)
			return
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			s.log.Warn("cpu profile", "err", err)
			return
		}
		t := time.NewTimer(ProfileChunk)
		select {
		case <-t.C:
		case <-stop:
		}
		t.Stop()
		pprof.StopCPUProfile()
		f.Close()
		select {
		case <-stop:
			return
		default:
		}
	}
}
