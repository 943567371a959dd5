package etcd

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
)

// adapterSource is the adapter's program with its go.mod and go.sum
// (named .txt in the repository so that they make no module of their own
// inside splitbrain's).
//
//go:embed adapter/main.go adapter/go.mod.txt adapter/go.sum.txt
var adapterSource embed.FS

// CacheDir is where built etcd and adapter binaries are kept:
// $SPLITBRAIN_CACHE, else the user's cache directory
// (~/.cache/splitbrain).
func CacheDir() (string, error) {
	if d := os.Getenv("SPLITBRAIN_CACHE"); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("etcd: no cache directory for builds (set SPLITBRAIN_CACHE): %w", err)
	}
	return filepath.Join(d, "splitbrain"), nil
}

// goCommand is the go command that builds etcd and the adapter: the one
// on PATH, else the toolchain this binary was built with.
func goCommand() (string, error) {
	if p, err := exec.LookPath("go"); err == nil {
		return p, nil
	}
	p := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	return "", errors.New("etcd: building etcd and its adapter needs the go command (not on PATH)")
}

// buildOnce runs build into dir unless dir/name already exists, holding a
// lock file beside dir so that two runs never build the same thing at
// once (the second waits and then finds the binary).
func buildOnce(dir, name string, progress io.Writer, what string, build func(dir string) error) (string, error) {
	bin := filepath.Join(dir, name)
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", err
	}
	lf, err := os.OpenFile(dir+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", err
	}
	defer lf.Close()
	if err := syscall.Flock(int(lf.Fd()), syscall.LOCK_EX); err != nil {
		return "", fmt.Errorf("etcd: locking %s: %w", lf.Name(), err)
	}
	defer syscall.Flock(int(lf.Fd()), syscall.LOCK_UN)
	if _, err := os.Stat(bin); err == nil {
		return bin, nil // built by another run while we waited
	}
	if progress != nil {
		fmt.Fprintf(progress, "splitbrain: building %s in %s (once; it is cached)\n", what, dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if err := build(dir); err != nil {
		return "", err
	}
	return bin, nil
}

// goRun runs the go command in dir, offline-safe settings: the local
// toolchain only, no cgo.
func goRun(ctx context.Context, dir string, args ...string) error {
	gocmd, err := goCommand()
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, gocmd, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local", "CGO_ENABLED=0", "GOFLAGS=-mod=mod -buildvcs=false", "GOWORK=off")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go %s in %s: %v\n%s", strings.Join(args, " "), dir, err, tail(out.String(), 20))
	}
	return nil
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// etcdMain is the whole of the etcd program built from the module.
const etcdMain = `package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
`

// BuildEtcd builds etcd version (v3.5.0 or later: the releases published
// as the module go.etcd.io/etcd/server/v3) from its Go module with the
// local Go toolchain, once: the binary is cached in
// <cache>/etcd/<version>/etcd.
func BuildEtcd(ctx context.Context, version string, progress io.Writer) (string, error) {
	cache, err := CacheDir()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cache, "etcd", version)
	return buildOnce(dir, "etcd", progress, "etcd "+version+" from go.etcd.io/etcd/server/v3", func(dir string) error {
		if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module splitbrain.local/etcd\n\ngo 1.24\n"), 0o644); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(etcdMain), 0o644); err != nil {
			return err
		}
		if err := goRun(ctx, dir, "get", "go.etcd.io/etcd/server/v3@"+version); err != nil {
			return fmt.Errorf("etcd %s: %w", version, err)
		}
		if err := goRun(ctx, dir, "build", "-trimpath", "-o", "etcd.tmp", "."); err != nil {
			return fmt.Errorf("etcd %s: %w", version, err)
		}
		return os.Rename(filepath.Join(dir, "etcd.tmp"), filepath.Join(dir, "etcd"))
	})
}

// BuildAdapter builds the adapter from the source embedded in this
// binary, once per version of that source: <cache>/etcdadapter/<hash>/.
func BuildAdapter(ctx context.Context, progress io.Writer) (string, error) {
	files := map[string]string{"adapter/main.go": "main.go", "adapter/go.mod.txt": "go.mod", "adapter/go.sum.txt": "go.sum"}
	h := sha256.New()
	contents := map[string][]byte{}
	for _, src := range []string{"adapter/main.go", "adapter/go.mod.txt", "adapter/go.sum.txt"} {
		b, err := adapterSource.ReadFile(src)
		if err != nil {
			panic(fmt.Sprintf("etcd: embedded adapter source %s: %v", src, err))
		}
		fmt.Fprintf(h, "%s %d\n", src, len(b))
		h.Write(b)
		contents[files[src]] = b
	}
	cache, err := CacheDir()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cache, "etcdadapter", hex.EncodeToString(h.Sum(nil))[:16])
	return buildOnce(dir, "etcdadapter", progress, "the etcd adapter (etcd's Go client)", func(dir string) error {
		for name, b := range contents {
			if name == "main.go" {
				// Drop the build constraint that keeps it out of
				// splitbrain's module.
				b = bytes.Replace(b, []byte("//go:build ignore\n"), nil, 1)
			}
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
				return err
			}
		}
		if err := goRun(ctx, dir, "build", "-trimpath", "-o", "etcdadapter.tmp", "."); err != nil {
			return fmt.Errorf("etcd adapter: %w", err)
		}
		return os.Rename(filepath.Join(dir, "etcdadapter.tmp"), filepath.Join(dir, "etcdadapter"))
	})
}
