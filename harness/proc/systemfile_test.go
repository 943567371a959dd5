package proc

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/splitbrain/splitbrain/harness/raftkv"
)

// TestReferenceSystemFile: the built-in system file renders the reference
// node's command line: bootstrap or join, the peers, the tuning flags
// only when set, the bug canaries.
func TestReferenceSystemFile(t *testing.T) {
	s := ReferenceSystem()
	if s.Name() != "raftkv" || !s.Caps().DialerSends || !s.Caps().ClockRate || !s.Caps().Supports("promote") || s.Caps().AddBeforeStart {
		t.Fatalf("reference system: name %q caps %+v", s.Name(), s.Caps())
	}
	n := sampleSpec()
	n.Raft = raftkv.Config{SnapshotEvery: 100, Bugs: raftkv.Bugs{}}
	bugs, err := raftkv.ParseBugs("local-reads")
	if err != nil {
		t.Fatal(err)
	}
	n.Raft.Bugs = bugs
	args, err := s.Command(n)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"splitbrain", "node", "--id=1", "--data=/tmp/data/n1", "--log=/tmp/logs/n1.log",
		"--peer-addr=127.0.0.11:10000", "--api-addr=127.0.0.11:10001", "--peers=2=127.0.0.12:10000",
		"--bootstrap", "--tick=0s", "--clock-rate=1", "--seed=0", "--snapshot-every=100", "--bug=local-reads"}
	if !slices.Equal(args, want) {
		t.Fatalf("command line\n got %q\nwant %q", args, want)
	}
	n.Bootstrap, n.Join, n.Raft = false, true, raftkv.Config{}
	args, _ = s.Command(n)
	if slices.Contains(args, "--bootstrap") || !slices.Contains(args, "--join") || strings.Contains(strings.Join(args, " "), "--bug") {
		t.Fatalf("join command line: %q", args)
	}
	// The file in the source tree is the embedded one.
	b, err := os.ReadFile(filepath.Join("systems", "raftkv.toml"))
	if err != nil || string(b) != string(ReferenceFile) {
		t.Fatalf("systems/raftkv.toml differs from the embedded file (%v)", err)
	}
}

// TestSystemFileErrors: bad system files are errors naming file:line and
// the problem.
func TestSystemFileErrors(t *testing.T) {
	for _, c := range []struct {
		name, src, want string
	}{
		{"syntax", "name = \"x\"\nstart = [\"a\"\n", "sys.toml:2: expected a comma"},
		{"unknown key", "name = \"x\"\nstart = [\"a\"]\nstrat = [\"b\"]\n", "sys.toml:3: unknown key \"strat\""},
		{"unknown capability", "start = [\"a\"]\n\n[capabilities]\nclock = true\n", "sys.toml:4: unknown key \"capabilities.clock\""},
		{"no start", "name = \"x\"\n", "sys.toml: start: the command line that starts a node is required"},
		{"empty start", "name = \"x\"\nstart = []\n", "sys.toml:2: start: the command line"},
		{"bad template", "start = [\"a\", \"{{.ID\"]\n", "sys.toml:1: template: start[1]"},
		{"unknown field", "start = [\"a\", \"{{.Nope}}\"]\n", "sys.toml:1: template: start[1]"},
		{"empty program", "start = [\"{{if .Join}}x{{end}}\"]\n", "sys.toml:1: start[0]: the program renders empty"},
		{"bad membership", "start = [\"a\"]\n[capabilities]\nmembership = [\"add\", \"grow\"]\n", "sys.toml:3: membership: \"grow\""},
		{"bad partition", "start = [\"a\"]\n[capabilities]\npartition = \"ports\"\n", "sys.toml:3: partition: \"ports\""},
		{"bad read consistency", "start = [\"a\"]\n[capabilities]\nread_consistency = [\"linearizable\"]\n", "sys.toml:3: read_consistency"},
		{"wrong type", "start = \"a\"\n", "sys.toml:1: (last key \"start\"): incompatible types"},
		{"bad wipe", "start = [\"a\"]\nwipe = [\"{{.DataDir\"]\n", "sys.toml:2: template: wipe[0]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseSystemFile("sys.toml", []byte(c.src))
			if err == nil {
				t.Fatalf("no error for\n%s", c.src)
			}
			if !errors.Is(err, ErrBadSystem) {
				t.Errorf("error %v does not wrap ErrBadSystem", err)
			}
			if !strings.HasPrefix(err.Error(), c.want) {
				t.Fatalf("error %q, want it to start with %q", err, c.want)
			}
		})
	}
	if _, err := LoadSystemFile(filepath.Join(t.TempDir(), "none.toml")); !errors.Is(err, ErrBadSystem) {
		t.Fatalf("missing file: %v", err)
	}
}

// TestSystemFileOptions: a minimal file gets the defaults (partition by
// process, no capabilities), conditional arguments drop out, and a wipe
// command runs.
func TestSystemFileOptions(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "wiped")
	src := "start = [\"/bin/mynode\", \"--api={{.APIAddr}}\", \"{{if .Join}}--join{{end}}\",\n" +
		" \"--cluster={{range $i, $m := .Members}}{{if $i}},{{end}}{{$m.Name}}={{$m.PeerAddr}}{{end}}\"]\n" +
		"wipe = [\"touch\", \"" + marker + "\"]\n[capabilities]\nmembership = [\"remove\", \"remove\"]\nread_consistency = [\"serializable\"]\n"
	s, err := ParseSystemFile(filepath.Join(dir, "mynode.toml"), []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	c := s.Caps()
	if s.Name() != "mynode" || c.DialerSends || c.ClockRate || c.SenderPackets || !slices.Equal(c.Membership, []string{"remove"}) ||
		!slices.Equal(c.ReadConsistency, []string{"serializable"}) {
		t.Fatalf("name %q caps %+v", s.Name(), c)
	}
	args, err := s.Command(sampleSpec())
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"/bin/mynode", "--api=127.0.0.11:10001", "--cluster=n1=127.0.0.11:10000,n2=127.0.0.12:10000"}; !slices.Equal(args, want) {
		t.Fatalf("got %q, want %q", args, want)
	}
	if err := s.Wipe(sampleSpec()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Fatalf("the wipe command did not run: %v", err)
	}
}

// FuzzParseSystemFile: any input parses or fails with a short, printable,
// single-line message that starts with the file name; never a panic.
func FuzzParseSystemFile(f *testing.F) {
	f.Add(ReferenceFile)
	f.Add([]byte("start = [\"a\", \"{{.ID}}\"]\n[capabilities]\nmembership = [\"add\"]\n"))
	f.Add([]byte("start = [\"{{range .Peers}}{{.Name}}{{end}}\"]\nwipe = [\"rm\"]\n"))
	f.Add([]byte("[capabilities]\npartition = \"dialer\"\n"))
	f.Add([]byte("start = [\"\\u0000\", \"{{printf \\\"%q\\\" .Host}}\"]\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		s, err := ParseSystemFile("fuzz.toml", src)
		if err != nil {
			msg := err.Error()
			if !strings.HasPrefix(msg, "fuzz.toml") || strings.Count(msg, "fuzz.toml") > 2 || len(msg) > 400 || strings.ContainsAny(msg, "\n\r") {
				t.Fatalf("bad message %q", msg)
			}
			for _, r := range msg {
				if !unicode.IsPrint(r) {
					t.Fatalf("unprintable %q in message %q", r, msg)
				}
			}
			return
		}
		if _, err := s.Command(sampleSpec()); err != nil {
			t.Fatalf("parsed, but the sample command fails: %v", err)
		}
	})
}
