package gitstamp

import (
	"encoding/json"
	"testing"
)

const hash = "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d"

func TestStringColorANSI(t *testing.T) {
	cases := []struct {
		s     Stamp
		str   string
		color string
		ansi  string
	}{
		{Stamp{Status: StatusNone}, "no git repository", "grey", "\x1b[90m"},
		{Stamp{}, "no git repository", "grey", "\x1b[90m"},
		{Stamp{Status: StatusNone, Error: "git not installed: x"}, "git state unknown: git not installed: x", "grey", "\x1b[90m"},
		{Stamp{Branch: "main", Commit: hash, Short: "1a2b3c4", Status: StatusClean}, "main@1a2b3c4 clean", "green", "\x1b[32m"},
		{Stamp{Branch: "main", Commit: hash, Status: StatusClean}, "main@1a2b3c4 clean", "green", "\x1b[32m"},
		{Stamp{Branch: "main", Commit: hash, Short: "1a2b3c4d", Upstream: "origin/main", Ahead: 1, Status: StatusAhead},
			"main@1a2b3c4d ahead 1 of origin/main", "yellow", "\x1b[33m"},
		{Stamp{Branch: "main", Commit: hash, Short: "1a2b3c4", Upstream: "origin/main", Behind: 4, Status: StatusClean},
			"main@1a2b3c4 clean, behind 4 of origin/main", "green", "\x1b[32m"},
		{Stamp{Branch: "main", Commit: hash, Short: "1a2b3c4", Changes: 3, Status: StatusDirty},
			"main@1a2b3c4 dirty (3 files)", "red", "\x1b[31m"},
		{Stamp{Branch: "dev", Commit: hash, Short: "1a2b3c4", Upstream: "up/dev", Changes: 1, Ahead: 2, Behind: 5, Status: StatusDirty},
			"dev@1a2b3c4 dirty (1 file), ahead 2 of up/dev, behind 5", "red", "\x1b[31m"},
		{Stamp{Branch: "HEAD (detached at 1a2b3c4)", Commit: hash, Short: "1a2b3c4", Status: StatusClean},
			"HEAD (detached at 1a2b3c4) clean", "green", "\x1b[32m"},
		{Stamp{Branch: "main", Status: StatusClean}, "main (no commits) clean", "green", "\x1b[32m"},
		{Stamp{Branch: "main", Commit: hash, Short: "1a2b3c4", Upstream: "origin/main", Status: StatusClean, Error: "upstream origin/main is gone; ahead/behind unknown"},
			"main@1a2b3c4 clean [error: upstream origin/main is gone; ahead/behind unknown]", "green", "\x1b[32m"},
	}
	for _, c := range cases {
		if got := c.s.String(); got != c.str {
			t.Errorf("%+v.String() = %q, want %q", c.s, got, c.str)
		}
		if got := c.s.Color(); got != c.color {
			t.Errorf("%+v.Color() = %q, want %q", c.s, got, c.color)
		}
		if got, want := c.s.ANSI(), c.ansi+c.str+"\x1b[0m"; got != want {
			t.Errorf("%+v.ANSI() = %q, want %q", c.s, got, want)
		}
	}
}

func TestJSONShape(t *testing.T) {
	s := Stamp{
		Repo: "/src/sut", Remote: "git@host:sut.git", Branch: "main", Upstream: "origin/main",
		Commit: hash, Short: "1a2b3c4", Status: StatusDirty, Ahead: 1, Behind: 2,
		Changes: 2, Dirty: []string{"a.go", "b.go"}, Error: "partial",
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"repo":"/src/sut","remote":"git@host:sut.git","branch":"main","upstream":"origin/main",` +
		`"commit":"` + hash + `","short":"1a2b3c4","status":"dirty","ahead":1,"behind":2,` +
		`"changes":2,"dirty":["a.go","b.go"],"error":"partial"}`
	if string(b) != want {
		t.Errorf("JSON:\n got %s\nwant %s", b, want)
	}
	var back Stamp
	if err := json.Unmarshal(b, &back); err != nil || !equal(back, s) {
		t.Errorf("round trip: %+v, %v", back, err)
	}
	// Outside a repository only the status is written.
	if b, _ := json.Marshal(Stamp{Status: StatusNone}); string(b) != `{"status":"none"}` {
		t.Errorf("none stamp JSON = %s", b)
	}
}
