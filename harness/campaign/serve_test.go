package campaign

import (
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"regexp"
	"strings"
	"testing"

	"github.com/splitbrain/splitbrain/harness/serve"
)

// getPage GETs u (following redirects) and returns the status, the final
// URL and the body.
func getPage(t *testing.T, c *http.Client, u string) (int, string, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Request.URL.String(), string(b)
}

// TestServeCampaign runs a small campaign and looks at it through serve,
// as a person would: the run index lists every campaign run, labelled
// with its campaign; every link of summary.html — run directories,
// timelines, diagrams — opens (a run directory as its run page); and the
// campaigns page's verdict badges carry the classes serve's stylesheet
// colours.
func TestServeCampaign(t *testing.T) {
	root := t.TempDir()
	r := sb(t, "campaign", "--seeds", "2", "--workers", "2", "--nemesis", "partition;kill", "--bug", "local-reads",
		"--time", "20s", "--results", root, "--", "--liveness-bound", "5s", "--rate", "20") // slow clients: the canary is missed in some runs
	if r.code > 1 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	x := onlyCampaign(t, root)
	if x.Totals.Valid == 0 || x.Totals.Invalid == 0 {
		t.Fatalf("totals %+v: the test wants both valid and invalid runs (seeds 1–2 of the local-reads canary at 20 ops/s)", x.Totals)
	}
	s, err := serve.New(serve.Options{Results: root, Pages: []serve.Page{ServePage()}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	c := srv.Client()
	defer c.CloseIdleConnections()

	// The run index lists every run of the campaign, with its label.
	code, _, index := getPage(t, c, srv.URL+"/")
	if code != 200 {
		t.Fatalf("index: %d", code)
	}
	listed := map[string]bool{}
	for _, m := range regexp.MustCompile(`<tr class="run [^"]*" data-verdict="([^"]*)" data-path="([^"]*)"`).FindAllStringSubmatch(index, -1) {
		listed[html.UnescapeString(m[2])+" "+m[1]] = true
	}
	for _, e := range x.Runs {
		want := path.Join("campaigns", x.ID, e.Dir) + " " + string(e.Verdict)
		if !listed[want] {
			t.Errorf("the run index does not list campaign run %s (listed: %v)", want, listed)
		}
	}
	if len(listed) != len(x.Runs) {
		t.Errorf("the run index lists %d runs, the campaign has %d", len(listed), len(x.Runs))
	}
	if n := strings.Count(index, ">campaign "+x.ID+"</a>"); n != len(x.Runs) {
		t.Errorf("%d runs carry the label \"campaign %s\", want %d", n, x.ID, len(x.Runs))
	}

	// Every link of summary.html opens.
	sumURL, err := url.Parse(srv.URL + serve.FileURL(path.Join("campaigns", x.ID, SummaryFile)))
	if err != nil {
		t.Fatal(err)
	}
	code, _, summary := getPage(t, c, sumURL.String())
	if code != 200 {
		t.Fatalf("summary.html: %d", code)
	}
	dirLinks := 0
	for _, m := range regexp.MustCompile(`href="([^"#][^"]*)"`).FindAllStringSubmatch(summary, -1) {
		ref, err := url.Parse(html.UnescapeString(m[1]))
		if err != nil {
			t.Errorf("summary link %q: %v", m[1], err)
			continue
		}
		u := sumURL.ResolveReference(ref)
		code, final, body := getPage(t, c, u.String())
		if code != 200 {
			t.Errorf("summary link %q → %s: %d", m[1], u.Path, code)
			continue
		}
		if strings.HasSuffix(ref.Path, "/") {
			dirLinks++
			if !strings.HasPrefix(final, srv.URL+"/run/") || !strings.Contains(body, `id="verdict-badge"`) {
				t.Errorf("summary link %q opened %s, not the run's page", m[1], final)
			}
		}
	}
	if dirLinks < len(x.Runs) {
		t.Errorf("summary.html has %d run directory links, want one per run at least (%d)", dirLinks, len(x.Runs))
	}

	// The campaigns page: badges with the stylesheet's classes.
	_, _, css := getPage(t, c, srv.URL+"/static/style.css")
	code, _, page := getPage(t, c, srv.URL+"/campaigns/")
	if code != 200 {
		t.Fatalf("campaigns page: %d", code)
	}
	badges := regexp.MustCompile(`<span class="badge ([^"]*)">(\d+) (valid|invalid|unknown|errors)</span>`).FindAllStringSubmatch(page, -1)
	if len(badges) < 3 {
		t.Fatalf("campaigns page has %d verdict badges, want valid, invalid and unknown:\n%s", len(badges), page)
	}
	want := map[string]string{"valid": "v-valid", "invalid": "v-invalid", "unknown": "v-unknown", "errors": "v-unknown"}
	for _, b := range badges {
		class := want[b[3]]
		if b[2] == "0" {
			class = "zero"
		}
		if b[1] != class {
			t.Errorf("badge %q has class %q, want %q", b[2]+" "+b[3], b[1], class)
		}
		if !strings.Contains(css, ".badge."+b[1]+" {") {
			t.Errorf("badge class %q has no rule in style.css: the badge is grey", b[1])
		}
	}
	if !strings.Contains(page, `class="campaign v-invalid"`) || !strings.Contains(css, "section.campaign.v-invalid {") {
		t.Error("the campaign's section does not show its failure")
	}
}
