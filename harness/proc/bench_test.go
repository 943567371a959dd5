package proc

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/splitbrain/splitbrain/harness/history"
	"github.com/splitbrain/splitbrain/harness/raftkv"
	"github.com/splitbrain/splitbrain/workloads"
)

// BenchmarkProcess measures recorded operations per second in the process
// world: 5 node processes, 20 register clients as fast as they can go
// (the workload's default mix), no faults. Goal: ≥ 5,000 ops/s on
// 2 cores. Each iteration is one 12-second run, measured from the moment
// the cluster has a leader.
//
// It reports CPU per operation too (nodes and harness). That figure
// depends less than ops/s on what else the machine runs, but it does
// depend on it: the nodes batch whatever arrives while they sync, so the
// busier they are, the more operations share a sync and a round of
// messages, and the less CPU each costs. Compare figures taken under the
// same conditions.
//
// Where the data lives matters most: every batch is fsynced before it is
// acknowledged, and an fdatasync costs CPU as well as time (on a virtual
// disk, tens of microseconds of CPU each). On tmpfs it costs nothing, and
// the same code runs much faster. The data goes to b.TempDir()
// (TMPDIR, default /tmp) or SPLITBRAIN_BENCH_DIR, which also keeps the
// runs' node logs with their stats lines; the benchmark logs the
// filesystem it ran on. SPLITBRAIN_BENCH_PROCS sets the nodes' GOMAXPROCS
// (Config.NodeProcs); node.ProfileEnv makes the nodes write CPU profiles.
func BenchmarkProcess(b *testing.B) {
	requireRoot(b)
	const runFor = 12 * time.Second
	var ops, oks int
	var wall, nodeCPU, harnessCPU time.Duration
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
		if keep := os.Getenv("SPLITBRAIN_BENCH_DIR"); keep != "" { // keep the node logs (their stats lines) to study
			dir = filepath.Join(keep, fmt.Sprint(i))
		}
		w, err := New(Config{Seed: uint64(i + 1), Nodes: 5, Binary: nodeBinary, Dir: dir,
			Node: raftkv.Config{SnapshotEvery: 1000, CompactKeep: 100, RequestTimeoutTicks: 40}, NodeProcs: benchProcs()})
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("data in %s (%s)", dir, fsType(dir))
		rec, err := history.NewRecorder(filepath.Join(dir, "history.jsonl"), func() int64 { return int64(w.Now()) })
		if err != nil {
			b.Fatal(err)
		}
		var elapsed time.Duration
		err = w.Run(func() {
			// Wait for a leader so that the measurement is of a serving cluster.
			for _, ok := w.Leader(); !ok; _, ok = w.Leader() {
				time.Sleep(20 * time.Millisecond)
			}
			wl, err := workloads.NewRegister(w, rec, workloads.RegisterOptions{Clients: benchClients(), Rate: 1e6})
			if err != nil {
				panic(err)
			}
			cpu0, self0 := w.NodesCPU(), selfCPU()
			start := w.Now()
			g := w.NewGroup()
			wl.Run(g, func() bool { return w.Now()-start >= runFor })
			g.Wait()
			elapsed = w.Now() - start
			nodeCPU += w.NodesCPU() - cpu0
			harnessCPU += selfCPU() - self0
		})
		rec.Close()
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			b.Fatal(err)
		}
		for _, e := range rec.Events() {
			if e.Process >= 0 && e.Type != history.Invoke {
				ops++
				if e.Type == history.OK {
					oks++
				}
			}
		}
		wall += elapsed
	}
	b.ReportMetric(float64(ops)/wall.Seconds(), "ops/s")
	// CPU per operation, nodes and harness: a figure that does not depend
	// on what else the machine runs. 2 cores / (CPU per op) bounds ops/s
	// on a 2-core machine of our own.
	perOp := (nodeCPU + harnessCPU).Seconds() / float64(max(ops, 1))
	b.ReportMetric(nodeCPU.Seconds()/float64(max(ops, 1))*1e6, "node-cpu-µs/op")
	b.ReportMetric(harnessCPU.Seconds()/float64(max(ops, 1))*1e6, "harness-cpu-µs/op")
	b.ReportMetric(2/perOp, "cpu-bound-ops/s@2cores")
	b.ReportMetric(float64(oks)/wall.Seconds(), "ok-ops/s")
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// fsType names the filesystem dir is on, as far as the benchmark cares.
func fsType(dir string) string {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return "unknown: " + err.Error()
	}
	switch st.Type {
	case 0x01021994:
		return "tmpfs: fsync costs nothing"
	case 0xef53:
		return "ext2/3/4"
	case 0x58465342:
		return "xfs"
	case 0x9123683e:
		return "btrfs"
	case 0x794c7630:
		return "overlayfs"
	}
	return fmt.Sprintf("filesystem magic %#x", st.Type)
}

func benchClients() int {
	if n, _ := strconv.Atoi(os.Getenv("SPLITBRAIN_BENCH_CLIENTS")); n > 0 {
		return n
	}
	return 20
}

func benchProcs() int {
	n, _ := strconv.Atoi(os.Getenv("SPLITBRAIN_BENCH_PROCS"))
	return n
}
