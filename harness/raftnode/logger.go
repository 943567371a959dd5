package raftnode

import (
	"fmt"

	"go.etcd.io/raft/v3"
)

// RaftLogger adapts l to etcd raft's raft.Logger, for raft.Config.Logger:
// raft's info, warning and error lines go to l (prefixed "raft"), its
// debug lines are dropped (raft is chatty), and Fatal and Panic panic, as
// raft expects. Without it raft logs to the process's stderr.
func RaftLogger(l Logger) raft.Logger {
	return raftLogger{l}
}

type raftLogger struct{ l Logger }

func (r raftLogger) log(level, s string)         { r.l.Logf("raft %s: %s", level, s) }
func (raftLogger) Debug(...any)                  {}
func (raftLogger) Debugf(string, ...any)         {}
func (r raftLogger) Info(v ...any)               { r.log("info", fmt.Sprint(v...)) }
func (r raftLogger) Infof(f string, v ...any)    { r.log("info", fmt.Sprintf(f, v...)) }
func (r raftLogger) Warning(v ...any)            { r.log("warn", fmt.Sprint(v...)) }
func (r raftLogger) Warningf(f string, v ...any) { r.log("warn", fmt.Sprintf(f, v...)) }
func (r raftLogger) Error(v ...any)              { r.log("error", fmt.Sprint(v...)) }
func (r raftLogger) Errorf(f string, v ...any)   { r.log("error", fmt.Sprintf(f, v...)) }
func (r raftLogger) Fatal(v ...any)              { r.Panic(v...) }
func (r raftLogger) Fatalf(f string, v ...any)   { r.Panic(fmt.Sprintf(f, v...)) }
func (r raftLogger) Panicf(f string, v ...any)   { r.Panic(fmt.Sprintf(f, v...)) }
func (r raftLogger) Panic(v ...any) {
	s := fmt.Sprint(v...)
	r.log("panic", s)
	panic("raft: " + s)
}
