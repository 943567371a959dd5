package serve

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// Opening a FIFO for reading waits for a writer; opening a device may do
// anything the device does. A results directory can hold either (made by
// mistake, or by someone who wants the server stuck): every request for
// one would pin a thread and a file descriptor for good. So the server
// opens nothing but regular files and directories: it stats the name
// through the root first and refuses anything else without opening it,
// then opens with O_NONBLOCK (in case the name was replaced in between,
// the open cannot wait) and checks that it opened the file it statted.

// errNotRegular and errNotDir are names that are something else.
var (
	errNotRegular = errors.New("not a regular file")
	errNotDir     = errors.New("not a directory")
)

// openRegular opens the regular file name inside root for reading.
func openRegular(root *os.Root, name string) (*os.File, fs.FileInfo, error) {
	return openKind(root, name, fs.FileMode.IsRegular, errNotRegular)
}

// openDir opens the directory name inside root for reading.
func openDir(root *os.Root, name string) (*os.File, error) {
	f, _, err := openKind(root, name, fs.FileMode.IsDir, errNotDir)
	return f, err
}

func openKind(root *os.Root, name string, is func(fs.FileMode) bool, wrong error) (*os.File, fs.FileInfo, error) {
	before, err := root.Stat(name)
	if err != nil {
		return nil, nil, err
	}
	if !is(before.Mode()) {
		return nil, nil, &os.PathError{Op: "open", Path: name, Err: wrong}
	}
	f, err := root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	st, err := f.Stat()
	if err == nil && (!is(st.Mode()) || !os.SameFile(before, st)) {
		err = &os.PathError{Op: "open", Path: name, Err: fmt.Errorf("%w (it changed while being opened)", wrong)}
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, st, nil
}
