//go:build unix

package campaign

import (
	"os/exec"
	"syscall"
)

// ownProcessGroup starts the child in its own process group, so that a
// terminal's Ctrl-C reaches only the campaign, which then kills each
// child's whole group (the run and any node processes it started).
func ownProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}
