package serve

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/splitbrain/splitbrain/harness"
)

// TestNonRegularFilesAnswerAtOnce: FIFOs in a results directory — a file
// of a run, a node log, a run's logs directory, a verdict file — are
// refused without being opened: every request answers at once and leaves
// no goroutine behind. (Opening a FIFO for reading waits for a writer:
// before, each such request pinned a thread and a descriptor for good.)
func TestNonRegularFilesAnswerAtOnce(t *testing.T) {
	// Runs last (cleanups run in reverse): after the server has shut
	// down, nothing the requests started may be left.
	leaks := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, leaks) })

	dir := t.TempDir()
	run := synthRun{Name: "register", At: t0, Verdict: VerdictValid, Seed: 1, Ops: 3}
	rd := writeSynth(t, dir, run)
	other := synthRun{Name: "register", At: t0.Add(time.Minute), Verdict: VerdictInvalid, Seed: 2, Ops: 3}
	od := writeSynth(t, dir, other)
	if err := os.Remove(filepath.Join(od, "logs")); err != nil {
		t.Fatal(err)
	}
	fifos := []string{
		filepath.Join(rd, "trap.fifo"),
		filepath.Join(rd, "logs", "n1.log"),
		filepath.Join(rd, harness.CheckFile),
		filepath.Join(od, "logs"),
		filepath.Join(dir, "register", "20250301T140000.000Z"), // where a run directory would be
	}
	for _, p := range fifos {
		if err := syscall.Mkfifo(p, 0o644); err != nil {
			t.Skipf("cannot make a FIFO here: %v", err)
		}
	}

	base := startServer(t, newServer(t, dir, Options{Hosts: LoopbackHosts}))
	// Should a request be stuck in open after all, give it a writer that
	// closes at once, so that the server can shut down and the test ends.
	t.Cleanup(func() {
		for _, p := range fifos {
			if fd, err := syscall.Open(p, syscall.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
				syscall.Close(fd)
			}
		}
	})

	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	// fetch answers one request. No time limit judges it: a request stuck
	// opening a FIFO holds the FIFO open for reading, so a writer can then
	// open it without waiting. Finding that, while the answer has not
	// come, is the failure; the writer's open and close also release the
	// request.
	fetch := func(path string) (*http.Response, error) {
		type answer struct {
			resp *http.Response
			err  error
		}
		answers := make(chan answer, 1)
		go func() {
			resp, err := client.Get(base + path)
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			answers <- answer{resp, err}
		}()
		for {
			select {
			case a := <-answers:
				return a.resp, a.err
			case <-time.After(20 * time.Millisecond):
			}
			for _, p := range fifos {
				if fd, err := syscall.Open(p, syscall.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
					syscall.Close(fd)
					t.Errorf("GET %s opened the FIFO %s (a request stuck opening a FIFO pins a thread for good)", path, p)
				}
			}
		}
	}
	for _, c := range []struct {
		path string
		code int
	}{
		{FileURL(run.rel() + "/trap.fifo"), http.StatusNotFound},
		{FileURL(run.rel() + "/trap.fifo?download=1"), http.StatusNotFound},
		{FileURL(run.rel() + "/logs/n1.log"), http.StatusNotFound},
		{FileURL(run.rel() + "/" + harness.CheckFile), http.StatusNotFound},
		{FileURL("register/20250301T140000.000Z"), http.StatusNotFound},
		{RunURL(run.rel()) + "?log=n1", http.StatusNotFound},
		{RunURL(run.rel()), http.StatusOK},
		{RunURL(other.rel()), http.StatusOK},
		{RunURL("register/20250301T140000.000Z"), http.StatusNotFound},
		{"/", http.StatusOK},
	} {
		resp, err := fetch(c.path)
		if err != nil {
			t.Errorf("GET %s: %v", c.path, err)
			continue
		}
		if resp.StatusCode != c.code {
			t.Errorf("GET %s: %d, want %d", c.path, resp.StatusCode, c.code)
		}
	}
	// The index lists both runs, and nothing for the FIFO.
	rows := indexRows(t, get(t, newServer(t, dir, Options{}), "/").Body.String())
	if len(rows) != 2 {
		t.Errorf("index rows %v, want the two runs", rows)
	}
}
