//go:build !unix

package campaign

import "os/exec"

// ownProcessGroup leaves the child as it is: cancelling kills it.
func ownProcessGroup(*exec.Cmd) {}
