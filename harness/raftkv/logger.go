package raftkv

import "fmt"

// raftLogger adapts raft's logger to the node's Logger. Debug lines are
// dropped (raft is chatty); Fatal and Panic panic, as raft expects.
type raftLogger struct{ n *Node }

func (l *raftLogger) log(level string, s string) {
	l.n.cfg.Logger.Logf("raft %s: %s", level, s)
}

func (l *raftLogger) Debug(...any)          {}
func (l *raftLogger) Debugf(string, ...any) {}
func (l *raftLogger) Info(v ...any)         { l.log("info", fmt.Sprint(v...)) }
func (l *raftLogger) Infof(f string, v ...any) {
	l.log("info", fmt.Sprintf(f, v...))
}
func (l *raftLogger) Warning(v ...any) { l.log("warn", fmt.Sprint(v...)) }
func (l *raftLogger) Warningf(f string, v ...any) {
	l.log("warn", fmt.Sprintf(f, v...))
}
func (l *raftLogger) Error(v ...any) { l.log("error", fmt.Sprint(v...)) }
func (l *raftLogger) Errorf(f string, v ...any) {
	l.log("error", fmt.Sprintf(f, v...))
}
func (l *raftLogger) Fatal(v ...any) { l.Panic(v...) }
func (l *raftLogger) Fatalf(f string, v ...any) {
	l.Panicf(f, v...)
}
func (l *raftLogger) Panic(v ...any) {
	s := fmt.Sprint(v...)
	l.log("panic", s)
	panic(fmt.Sprintf("raft node %x: %s", l.n.cfg.ID, s))
}
func (l *raftLogger) Panicf(f string, v ...any) { l.Panic(fmt.Sprintf(f, v...)) }
