package proc

import (
	_ "embed"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"text/template"

	"github.com/BurntSushi/toml"
)

// A system file describes a user's node to the process world: the
// command lines that start it and wipe its data, and what it can do. It
// is TOML (comments, line-numbered errors), and its command lines are
// lists of Go text/template strings over a NodeSpec, one template per
// argument; an argument that renders empty is dropped, so a flag can be
// conditional:
//
//	name  = "mynode"
//	start = ["/usr/local/bin/mynode", "--id={{.ID}}", "--data={{.DataDir}}",
//	         "--listen={{.PeerAddr}}", "--api={{.APIAddr}}",
//	         "--peers={{range $i, $p := .Peers}}{{if $i}},{{end}}{{$p.ID}}={{$p.PeerAddr}}{{end}}",
//	         "{{if .Bootstrap}}--bootstrap{{end}}", "{{if .Join}}--join{{end}}"]
//	wipe  = ["rm", "-rf", "{{.DataDir}}"]    # optional; the default removes DataDir
//
//	[capabilities]
//	clock_rate     = false    # POST /admin/tick-rate
//	sender_packets = false    # POST /admin/net
//	membership     = ["add", "remove"]
//	add_before_start = false  # etcd-style: add the member, then start it
//	partition      = "packet" # or "dialer" (see Caps.DialerSends)
//	read_consistency = []     # besides "linearizable"
//
// README-systems.md documents every field and template value.
type systemFile struct {
	Name    string   `toml:"name"`
	Version string   `toml:"version"`
	Start   []string `toml:"start"`
	Wipe    []string `toml:"wipe"`
	Caps    struct {
		ClockRate       bool     `toml:"clock_rate"`
		SenderPackets   bool     `toml:"sender_packets"`
		Membership      []string `toml:"membership"`
		AddBeforeStart  bool     `toml:"add_before_start"`
		Partition       string   `toml:"partition"`
		ReadConsistency []string `toml:"read_consistency"`
	} `toml:"capabilities"`
}

// FileSystem is a System described by a system file.
type FileSystem struct {
	name, version string
	path          string // "" for the embedded reference node
	start, wipe   []*template.Template
	caps          Caps
}

// ReferenceFile is the reference node (`splitbrain node`) described as a
// system file: the default system, run through the same path as any other.
//
//go:embed systems/raftkv.toml
var ReferenceFile []byte

// ReferenceSystem is the reference node: ReferenceFile, parsed.
func ReferenceSystem() *FileSystem {
	s, err := ParseSystemFile("raftkv.toml (built in)", ReferenceFile)
	if err != nil {
		panic(fmt.Sprintf("proc: the built-in reference system file is broken: %v", err))
	}
	s.path = ""
	return s
}

// LoadSystemFile reads and parses a system file. Errors wrap ErrBadSystem
// and name file:line.
func LoadSystemFile(path string) (*FileSystem, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: system file: %w", ErrBadSystem, err)
	}
	s, err := ParseSystemFile(path, b)
	if err != nil {
		return nil, err
	}
	s.path = path
	return s, nil
}

// SystemFileError is a problem in a system file, at a line (0: the file
// as a whole).
type SystemFileError struct {
	File string
	Line int
	Msg  string
}

func (e *SystemFileError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

func (e *SystemFileError) Unwrap() error { return ErrBadSystem }

// maxSystemFile bounds a system file: it is a few lines of configuration.
const maxSystemFile = 1 << 20

// ParseSystemFile parses a system file's contents; file names it in
// errors.
func ParseSystemFile(file string, src []byte) (*FileSystem, error) {
	bad := func(line int, format string, args ...any) error {
		return &SystemFileError{File: file, Line: line, Msg: cleanMsg(fmt.Sprintf(format, args...))}
	}
	if len(src) > maxSystemFile {
		return nil, bad(0, "larger than %d bytes: not a system file", maxSystemFile)
	}
	var f systemFile
	md, err := toml.Decode(string(src), &f)
	if err != nil {
		var pe toml.ParseError
		var ppe *toml.ParseError
		switch {
		case errors.As(err, &pe):
			return nil, bad(pe.Position.Line, "%s", pe.Message)
		case errors.As(err, &ppe):
			return nil, bad(ppe.Position.Line, "%s", ppe.Message)
		}
		// A type mismatch: "toml: line 3 (last key "start"): incompatible types: …"
		if m := tomlLineRE.FindStringSubmatch(err.Error()); m != nil {
			line, _ := strconv.Atoi(m[1])
			return nil, bad(line, "%s", m[2])
		}
		return nil, bad(0, "%v", err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		k := und[0]
		return nil, bad(keyLine(src, k), "unknown key %q (known: name, version, start, wipe, [capabilities] clock_rate, sender_packets, membership, add_before_start, partition, read_consistency)", k.String())
	}
	s := &FileSystem{name: f.Name, version: f.Version}
	if s.name == "" {
		s.name = strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
	}
	if len(f.Start) == 0 {
		return nil, bad(keyLine(src, toml.Key{"start"}), "start: the command line that starts a node is required (a list of strings, program first)")
	}
	if s.start, err = parseArgs("start", f.Start); err != nil {
		return nil, bad(keyLine(src, toml.Key{"start"}), "%v", err)
	}
	if s.wipe, err = parseArgs("wipe", f.Wipe); err != nil {
		return nil, bad(keyLine(src, toml.Key{"wipe"}), "%v", err)
	}
	capLine := func(k string) int { return keyLine(src, toml.Key{"capabilities", k}) }
	c := f.Caps
	s.caps = Caps{ClockRate: c.ClockRate, SenderPackets: c.SenderPackets, AddBeforeStart: c.AddBeforeStart}
	for _, m := range c.Membership {
		switch m {
		case "add", "add-learner", "promote", "remove":
			if !s.caps.Supports(m) {
				s.caps.Membership = append(s.caps.Membership, m)
			}
		default:
			return nil, bad(capLine("membership"), "membership: %q is not a membership change (want add, add-learner, promote, remove)", m)
		}
	}
	switch c.Partition {
	case "", "packet":
	case "dialer":
		s.caps.DialerSends = true
	default:
		return nil, bad(capLine("partition"), "partition: %q (want \"packet\": cut by the sending process, works for any binary; or \"dialer\": the node sends only on connections it dials from its own address)", c.Partition)
	}
	for _, rc := range c.ReadConsistency {
		if rc == "" || rc == "linearizable" || !nameRE.MatchString(rc) {
			return nil, bad(capLine("read_consistency"), "read_consistency: %q (list the consistencies offered besides linearizable, e.g. \"serializable\")", rc)
		}
		s.caps.ReadConsistency = append(s.caps.ReadConsistency, rc)
	}
	// Render once with a sample node: a template that fails on every node
	// (a missing field, a bad call) fails here, with its line.
	sample := sampleSpec()
	if _, err := render(s.start, sample); err != nil {
		return nil, bad(keyLine(src, toml.Key{"start"}), "%v", err)
	}
	if _, err := render(s.wipe, sample); err != nil {
		return nil, bad(keyLine(src, toml.Key{"wipe"}), "%v", err)
	}
	return s, nil
}

var (
	nameRE     = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)
	tomlLineRE = regexp.MustCompile(`^toml: line (\d+) (\(last key .*?\): .*)$`)
)

func parseArgs(key string, args []string) ([]*template.Template, error) {
	var out []*template.Template
	for i, a := range args {
		t, err := template.New(fmt.Sprintf("%s[%d]", key, i)).Option("missingkey=error").Parse(a)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// render fills in a command line; empty arguments are dropped, and the
// program (the first argument) must not be empty.
func render(ts []*template.Template, n NodeSpec) ([]string, error) {
	var out []string
	for _, t := range ts {
		b := &limitedBuilder{max: maxArg}
		if err := t.Execute(b, n); err != nil {
			return nil, err
		}
		if s := b.String(); s != "" {
			out = append(out, s)
		} else if len(out) == 0 {
			return nil, fmt.Errorf("%s: the program renders empty", t.Name())
		}
	}
	return out, nil
}

// maxArg bounds one rendered argument.
const maxArg = 64 << 10

// limitedBuilder is a strings.Builder that refuses to grow past max: a
// template that loops (range over a number) stops with an error instead
// of filling memory.
type limitedBuilder struct {
	strings.Builder
	max int
}

func (b *limitedBuilder) Write(p []byte) (int, error) {
	if b.Len()+len(p) > b.max {
		return 0, fmt.Errorf("an argument renders longer than %d bytes", b.max)
	}
	return b.Builder.Write(p)
}

func sampleSpec() NodeSpec {
	p := Peer{ID: 2, Name: "n2", Host: "127.0.0.12", PeerAddr: "127.0.0.12:10000", PeerPort: 10000}
	return NodeSpec{ID: 1, Name: "n1", Host: "127.0.0.11", PeerPort: 10000, APIPort: 10001, ClientPort: 10002,
		PeerAddr: "127.0.0.11:10000", APIAddr: "127.0.0.11:10001", ClientAddr: "127.0.0.11:10002",
		DataDir: "/tmp/data/n1", LogFile: "/tmp/logs/n1.log", Peers: []Peer{p},
		Members:   []Peer{{ID: 1, Name: "n1", Host: "127.0.0.11", PeerAddr: "127.0.0.11:10000", PeerPort: 10000}, p},
		Bootstrap: true, ClockRate: 1, ReadConsistency: "linearizable", Splitbrain: "splitbrain", Cluster: "sample"}
}

// keyLine finds the line where key is set in src (0 if not found): the
// first line, inside the key's table, that starts with the key's last
// part.
func keyLine(src []byte, k toml.Key) int {
	if len(k) == 0 {
		return 0
	}
	table, last := strings.Join(k[:len(k)-1], "."), k[len(k)-1]
	cur := ""
	for i, line := range strings.Split(string(src), "\n") {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "[") {
			cur = strings.Trim(strings.TrimSpace(strings.SplitN(t, "#", 2)[0]), "[] ")
			continue
		}
		if cur != table {
			continue
		}
		name := strings.TrimSpace(strings.SplitN(t, "=", 2)[0])
		if strings.Trim(name, `"'`) == last && strings.Contains(t, "=") {
			return i + 1
		}
	}
	return 0
}

// cleanMsg keeps error messages printable and short: a system file may be
// any bytes.
func cleanMsg(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return ' '
		}
		if r < 0x20 || r == 0x7f || r == 0xfffd {
			return '?'
		}
		return r
	}, s)
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// Name implements System.
func (s *FileSystem) Name() string {
	if s.path != "" {
		return s.path
	}
	return s.name
}

// Version implements System.
func (s *FileSystem) Version() string { return s.version }

// Command implements System.
func (s *FileSystem) Command(n NodeSpec) ([]string, error) {
	args, err := render(s.start, n)
	if err != nil {
		return nil, fmt.Errorf("%s: start: %w", s.Name(), err)
	}
	return args, nil
}

// Wipe implements System: the file's wipe command, else remove the data
// directory.
func (s *FileSystem) Wipe(n NodeSpec) error {
	if len(s.wipe) == 0 {
		return wipeDataDir(n)
	}
	args, err := render(s.wipe, n)
	if err != nil {
		return fmt.Errorf("%s: wipe: %w", s.Name(), err)
	}
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		return fmt.Errorf("%s: wipe %s: %v: %s", s.Name(), n.Name, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Caps implements System.
func (s *FileSystem) Caps() Caps { return s.caps }
