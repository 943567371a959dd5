package campaign

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/splitbrain/splitbrain/harness/serve"
)

// TestServePageListsCampaigns: serve shows campaigns, with their failures.
func TestServePageListsCampaigns(t *testing.T) {
	root := t.TempDir()
	x := writeIndex(t, root, "20261122T010203.000Z", Shard{}, time.Date(2026, 11, 22, 1, 2, 3, 0, time.UTC))
	s, err := serve.New(serve.Options{Results: root, Pages: []serve.Page{ServePage()}})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("GET", "/campaigns/", nil)
	req.Host = "localhost"
	w := httptest.NewRecorder()
	s.ServeHTTP(w, req)
	body, _ := io.ReadAll(w.Result().Body)
	if w.Code != 200 {
		t.Fatalf("GET /campaigns/: %d\n%s", w.Code, body)
	}
	for _, want := range []string{x.ID, "index.json", "Campaigns"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("campaign page lacks %q:\n%s", want, body)
		}
	}
}
