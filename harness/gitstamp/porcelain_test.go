package gitstamp

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

const (
	oidA = "50a841be7fe47a6b24b8981990bac06840c075df"
	oidB = "93829c7b4af9dfbeea3b31395b042a614d7a190d"
	sha2 = "8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4"
)

// z joins records as `git status -z` writes them, each ending in NUL.
func z(records ...string) []byte {
	return []byte(strings.Join(records, "\x00") + "\x00")
}

// Real output of git 2.39: a rename, a modification of a path with a space,
// an untracked path with a newline.
var realOutput = z(
	"# branch.oid "+oidA,
	"# branch.head main",
	"# branch.upstream origin/main",
	"# branch.ab +1 -0",
	"2 R. N... 100644 100644 100644 "+oidB+" "+oidB+" R100 a2", "a",
	"1 .M N... 100644 100644 100644 "+oidB+" "+oidB+" b c",
	"? new\nline",
)

func TestParsePorcelain(t *testing.T) {
	cases := []struct {
		name string
		in   []byte
		want porcelain
	}{
		{"real", realOutput, porcelain{oid: oidA, head: "main", upstream: "origin/main", hasAB: true, ahead: 1,
			paths: []string{"a2", "b c", "new\nline"}}},
		{"initial", z("# branch.oid (initial)", "# branch.head trunk"), porcelain{head: "trunk"}},
		{"detached", z("# branch.oid "+oidA, "# branch.head (detached)"), porcelain{oid: oidA, detached: true}},
		{"sha256", z("# branch.oid "+sha2, "# branch.head main"), porcelain{oid: sha2, head: "main"}},
		{"upstream gone", z("# branch.oid "+oidA, "# branch.head main", "# branch.upstream origin/main"),
			porcelain{oid: oidA, head: "main", upstream: "origin/main"}},
		{"diverged", z("# branch.oid "+oidA, "# branch.head f/x", "# branch.upstream up/f/x", "# branch.ab +12 -345"),
			porcelain{oid: oidA, head: "f/x", upstream: "up/f/x", hasAB: true, ahead: 12, behind: 345}},
		{"unknown header skipped", z("# branch.oid "+oidA, "# stash 3", "# branch.head main"), porcelain{oid: oidA, head: "main"}},
		{"unmerged and ignored", z("# branch.oid "+oidA, "# branch.head main",
			"u UU N... 100644 100644 100644 100644 "+oidA+" "+oidB+" "+oidA+" conflict.go", "! build/"),
			porcelain{oid: oidA, head: "main", paths: []string{"conflict.go"}}},
		{"path with leading space", z("# branch.oid "+oidA, "# branch.head main", "?  lead", "? y"),
			porcelain{oid: oidA, head: "main", paths: []string{" lead", "y"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := parsePorcelain(c.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got %+v\nwant %+v", got, c.want)
			}
		})
	}
}

func TestParsePorcelainErrors(t *testing.T) {
	head := []string{"# branch.oid " + oidA, "# branch.head main"}
	with := func(rs ...string) []byte { return z(append(append([]string{}, head...), rs...)...) }
	cases := []struct {
		name   string
		in     []byte
		record int
		offset int
		msg    string
	}{
		{"empty output", nil, 1, 0, `no "# branch.oid" header`},
		{"no head", z("# branch.oid " + oidA), 2, 54, `no "# branch.head" header`},
		{"unterminated", []byte("# branch.oid " + oidA), 1, 0, "not terminated by NUL"},
		{"bad oid", z("# branch.oid 123"), 1, 0, `branch.oid "123"`},
		{"uppercase oid", z("# branch.oid " + strings.ToUpper(oidA)), 1, 0, "branch.oid"},
		{"empty head", z("# branch.oid "+oidA, "# branch.head "), 2, 54, `branch.head ""`},
		{"duplicate head", with("# branch.head dev"), 3, 73, "duplicate branch.head"},
		{"bad ab", with("# branch.ab 1 2"), 3, 73, `branch.ab "1 2"`},
		{"negative ab", with("# branch.ab +-1 -2"), 3, 73, "branch.ab"},
		{"huge ab", with("# branch.ab +99999999999999999999 -2"), 3, 73, "branch.ab"},
		{"no space header", with("#branch.oid"), 3, 73, "header"},
		{"empty record", with(""), 3, 73, "empty record"},
		{"unknown kind", with("3 foo"), 3, 73, "unknown entry kind '3'"},
		{"short ordinary", with("1 .M N... 100644 x"), 3, 73, "ordinary change entry"},
		{"bad xy", with("1 M N... 100644 100644 100644 " + oidA + " " + oidA + " p"), 3, 73, "not two letters"},
		{"rename without orig", with("2 R. N... 100644 100644 100644 " + oidA + " " + oidA + " R100 new"), 3, 73, "missing original path"},
		{"rename with empty orig", []byte(string(with("2 R. N... 100644 100644 100644 "+oidA+" "+oidA+" R100 new")) + "\x00"), 3, 73, "missing original path"},
		{"short unmerged", with("u UU N... 1 2 3 4 a b c"), 3, 73, "unmerged entry"},
		{"bad untracked", with("?x"), 3, 73, "untracked entry"},
		{"bad ignored", with("!"), 3, 73, "ignored entry"},
		{"entry after rename counts records", with("2 R. N... 100644 100644 100644 "+oidA+" "+oidA+" R100 new", "old", "?"), 5, 199, "untracked entry"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := parsePorcelain(c.in)
			var perr *PorcelainError
			if !errors.As(err, &perr) {
				t.Fatalf("got error %v, want a *PorcelainError", err)
			}
			if perr.Record != c.record || perr.Offset != c.offset || !strings.Contains(perr.Msg, c.msg) {
				t.Fatalf("got record %d offset %d %q; want record %d offset %d containing %q",
					perr.Record, perr.Offset, perr.Msg, c.record, c.offset, c.msg)
			}
			if want := fmt.Sprintf("record %d (byte %d): ", c.record, c.offset); !strings.Contains(err.Error(), want) {
				t.Errorf("Error() = %q, want it to contain %q", err.Error(), want)
			}
		})
	}
}

// render writes p back as porcelain v2 -z output.
func render(p porcelain) []byte {
	oid, head := "(initial)", p.head
	if p.oid != "" {
		oid = p.oid
	}
	if p.detached {
		head = "(detached)"
	}
	rs := []string{"# branch.oid " + oid, "# branch.head " + head}
	if p.upstream != "" {
		rs = append(rs, "# branch.upstream "+p.upstream)
	}
	if p.hasAB {
		rs = append(rs, fmt.Sprintf("# branch.ab +%d -%d", p.ahead, p.behind))
	}
	for i, path := range p.paths {
		switch i % 3 {
		case 0:
			rs = append(rs, "? "+path)
		case 1:
			rs = append(rs, "1 .M N... 100644 100644 100644 "+oidA+" "+oidB+" "+path)
		default:
			rs = append(rs, "2 R. N... 100644 100644 100644 "+oidA+" "+oidA+" R100 "+path, "orig")
		}
	}
	return z(rs...)
}

// FuzzParsePorcelain: the parser never panics, and whatever it accepts
// means the same when written back out and parsed again.
func FuzzParsePorcelain(f *testing.F) {
	f.Add(realOutput)
	f.Add(z("# branch.oid (initial)", "# branch.head main"))
	f.Add(z("# branch.oid "+oidA, "# branch.head (detached)", "? a b"))
	f.Add(z("# branch.oid "+oidA, "# branch.head main", "# branch.upstream o/m", "# branch.ab +3 -4",
		"u UU N... 100644 100644 100644 100644 "+oidA+" "+oidB+" "+oidA+" c", "! ign"))
	f.Add([]byte("# branch.oid " + oidA))
	f.Add([]byte{0, 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		p, err := parsePorcelain(in)
		if err != nil {
			var perr *PorcelainError
			if !errors.As(err, &perr) || perr.Record < 1 || perr.Offset < 0 || perr.Offset > len(in) {
				t.Fatalf("bad error %#v", err)
			}
			return
		}
		if p.ahead < 0 || p.behind < 0 || (!p.detached && p.head == "") || (p.detached && p.head != "") {
			t.Fatalf("accepted %q as %+v", in, p)
		}
		for _, path := range p.paths {
			if path == "" || strings.IndexByte(path, 0) >= 0 {
				t.Fatalf("accepted %q with path %q", in, path)
			}
		}
		again, err := parsePorcelain(render(p))
		if err != nil {
			t.Fatalf("%+v rendered does not parse: %v", p, err)
		}
		if !reflect.DeepEqual(again, p) {
			t.Fatalf("round trip changed %+v into %+v", p, again)
		}
	})
}
