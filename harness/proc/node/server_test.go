package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/splitbrain/splitbrain/harness/examples/tutorial"
	"github.com/splitbrain/splitbrain/harness/raftkv"
	"github.com/splitbrain/splitbrain/harness/raftnode"
)

// cluster runs nodes in this process, each on its own loopback address.
type cluster struct {
	t        *testing.T
	peerPort int
	apiPort  int
	root     string
	servers  map[uint64]*Server
	c        *Client
	raft     raftnode.Config
	system   raftnode.System // zero: the reference node
}

func newCluster(t *testing.T, n int) *cluster {
	return newClusterOf(t, n, raftnode.System{})
}

// newClusterOf runs n nodes of sys (zero: the reference node).
func newClusterOf(t *testing.T, n int, sys raftnode.System) *cluster {
	tc := &cluster{t: t, peerPort: freePort(t), apiPort: freePort(t), root: t.TempDir(), servers: map[uint64]*Server{},
		c: NewClient(8), raft: raftnode.Config{SnapshotEvery: 20, CompactKeep: 5, RequestTimeoutTicks: 30}, system: sys}
	t.Cleanup(func() {
		for _, s := range tc.servers {
			s.Close()
		}
		tc.c.Close()
	})
	for id := uint64(1); id <= uint64(n); id++ {
		if err := tc.start(id, true, false, n); err != nil {
			t.Fatal(err)
		}
	}
	return tc
}

func (tc *cluster) peerAddr(id uint64) string {
	return fmt.Sprintf("127.0.0.%d:%d", 40+id, tc.peerPort)
}
func (tc *cluster) apiAddr(id uint64) string { return fmt.Sprintf("127.0.0.%d:%d", 40+id, tc.apiPort) }

func (tc *cluster) start(id uint64, bootstrap, join bool, members int) error {
	peers := map[uint64]string{}
	for p := uint64(1); p <= uint64(members); p++ {
		peers[p] = tc.peerAddr(p)
	}
	f, err := os.OpenFile(filepath.Join(tc.root, fmt.Sprintf("n%d.log", id)), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	tc.t.Cleanup(func() { f.Close() })
	s, err := Start(Config{ID: id, DataDir: filepath.Join(tc.root, fmt.Sprintf("n%d", id)), PeerAddr: tc.peerAddr(id),
		APIAddr: tc.apiAddr(id), Peers: peers, Bootstrap: bootstrap, Join: join, Tick: 10 * time.Millisecond,
		Raft: tc.raft, System: tc.system, Logger: slog.New(slog.NewTextHandler(f, nil))})
	if err != nil {
		return err
	}
	tc.servers[id] = s
	return nil
}

func (tc *cluster) stop(id uint64) {
	if err := tc.servers[id].Close(); err != nil {
		tc.t.Fatalf("close n%d: %v", id, err)
	}
	delete(tc.servers, id)
}

func (tc *cluster) status(id uint64) (Status, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return tc.c.Status(ctx, tc.apiAddr(id))
}

// leader waits for a node that says it leads.
func (tc *cluster) leader() uint64 {
	tc.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for id := range tc.servers {
			if st, err := tc.status(id); err == nil && st.State == "StateLeader" {
				return id
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	tc.t.Fatal("no leader within 10s")
	return 0
}

func (tc *cluster) kv(id uint64, op string, req KVRequest) KVResponse {
	tc.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := tc.c.KV(ctx, tc.apiAddr(id), op, req)
	if err != nil {
		tc.t.Fatalf("%s via n%d: %v", op, id, err)
	}
	return resp
}

// must retries op until it is ok (elections may be under way).
func (tc *cluster) must(id uint64, op string, req KVRequest) KVResponse {
	tc.t.Helper()
	var resp KVResponse
	for i := 0; i < 50; i++ {
		if resp = tc.kv(id, op, req); resp.Outcome == OutcomeOK {
			return resp
		}
		time.Sleep(20 * time.Millisecond)
	}
	tc.t.Fatalf("%s %+v via n%d: %+v", op, req, id, resp)
	return resp
}

func str(s string) *string { return &s }

func val(r KVResponse) string {
	if r.Value == nil {
		return "<absent>"
	}
	return *r.Value
}

func TestClusterServesKV(t *testing.T) {
	tc := newCluster(t, 3)
	l := tc.leader()
	f := l%3 + 1 // a follower
	tc.must(f, "put", KVRequest{Key: "x", Value: str("1")})
	if got := val(tc.must(l, "get", KVRequest{Key: "x"})); got != "1" {
		t.Fatalf("get x via leader = %s, want 1", got)
	}
	if got := val(tc.must(f, "get", KVRequest{Key: "x"})); got != "1" {
		t.Fatalf("get x via follower = %s, want 1", got)
	}
	if r := tc.kv(f, "cas", KVRequest{Key: "x", Expected: str("0"), Value: str("2")}); r.Outcome != OutcomeFail {
		t.Fatalf("cas with a wrong expectation: %+v", r)
	}
	tc.must(l, "cas", KVRequest{Key: "x", Expected: str("1"), Value: str("2")})
	tc.must(l, "cas", KVRequest{Key: "y", Value: str("new")}) // expected absent
	tc.must(f, "delete", KVRequest{Key: "x"})
	if got := val(tc.must(f, "get", KVRequest{Key: "x"})); got != "<absent>" {
		t.Fatalf("get x after delete = %s", got)
	}
	st, err := tc.status(l)
	if err != nil || st.ID != l || st.Leader != l || len(st.Voters) != 3 || st.Applied < 5 || st.Learner {
		t.Fatalf("leader status %+v, %v", st, err)
	}
}

func TestClusterDeduplicatesRetries(t *testing.T) {
	tc := newCluster(t, 3)
	l := tc.leader()
	tc.must(l, "put", KVRequest{Key: "k", Value: str("first"), Client: 7, Seq: 1})
	// The same request again (a client's retry) is not applied twice; its
	// outcome cannot be known from this request alone.
	if r := tc.kv(l, "put", KVRequest{Key: "k", Value: str("second"), Client: 7, Seq: 1}); r.Outcome == OutcomeOK {
		t.Fatalf("a duplicate was acknowledged: %+v", r)
	}
	if got := val(tc.must(l, "get", KVRequest{Key: "k"})); got != "first" {
		t.Fatalf("k = %s after a duplicate, want first", got)
	}
}

func TestClusterRecoversFromStore(t *testing.T) {
	tc := newCluster(t, 3)
	l := tc.leader()
	for i := 0; i < 60; i++ { // past several snapshots
		tc.must(l, "put", KVRequest{Key: fmt.Sprintf("k%d", i%7), Value: str(fmt.Sprint(i))})
	}
	victim := l%3 + 1
	tc.stop(victim)
	l = tc.leader()
	tc.must(l, "put", KVRequest{Key: "while-down", Value: str("yes")})
	if err := tc.start(victim, false, false, 3); err != nil {
		t.Fatal(err)
	}
	if got := val(tc.must(victim, "get", KVRequest{Key: "while-down"})); got != "yes" {
		t.Fatalf("restarted node reads %s", got)
	}
	if got := val(tc.must(victim, "get", KVRequest{Key: "k4"})); got != "53" {
		t.Fatalf("restarted node reads k4 = %s, want 53", got)
	}
}

func TestStartRefusesLostData(t *testing.T) {
	tc := newCluster(t, 3)
	tc.leader()
	tc.stop(2)
	os.RemoveAll(filepath.Join(tc.root, "n2"))
	err := tc.start(2, false, false, 3)
	if !errors.Is(err, raftkv.ErrDataLost) {
		t.Fatalf("restart with a wiped store: %v, want ErrDataLost", err)
	}
}

func TestStartRefusesCorruptStore(t *testing.T) {
	tc := newCluster(t, 1)
	tc.must(1, "put", KVRequest{Key: "x", Value: str("MARKER-MARKER-MARKER")})
	tc.stop(1)
	path := filepath.Join(tc.root, "n1", StoreFile)
	b, _ := os.ReadFile(path)
	n := 0
	for i := 0; i+20 <= len(b); i++ {
		if string(b[i:i+20]) == "MARKER-MARKER-MARKER" {
			b[i] ^= 1
			n++
		}
	}
	if n == 0 {
		t.Fatal("marker not in the store")
	}
	os.WriteFile(path, b, 0o644)
	err := tc.start(1, true, false, 1)
	var ce *CorruptError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "checksum mismatch") {
		t.Fatalf("start on a corrupt store: %v", err)
	}
}

func TestClusterMembership(t *testing.T) {
	tc := newCluster(t, 3)
	l := tc.leader()
	for i := 0; i < 30; i++ {
		tc.must(l, "put", KVRequest{Key: "m", Value: str(fmt.Sprint(i))})
	}
	conf := func(via uint64, req ConfRequest) KVResponse {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		r, err := tc.c.Conf(ctx, tc.apiAddr(via), req)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	// A learner joins: started empty, then added with its address.
	if err := tc.start(4, false, true, 3); err != nil {
		t.Fatal(err)
	}
	if r := conf(l, ConfRequest{Op: "add-learner", ID: 4, PeerAddr: tc.peerAddr(4)}); r.Outcome != OutcomeOK {
		t.Fatalf("add-learner: %+v", r)
	}
	waitStatus(t, tc, 4, func(st Status) bool { return st.Learner && st.Applied >= 30 })
	if r := conf(l, ConfRequest{Op: "promote", ID: 4}); r.Outcome != OutcomeOK {
		t.Fatalf("promote: %+v", r)
	}
	waitStatus(t, tc, 4, func(st Status) bool { return !st.Learner && len(st.Voters) == 4 })
	if got := val(tc.must(4, "get", KVRequest{Key: "m"})); got != "29" {
		t.Fatalf("new node reads m = %s", got)
	}
	// Node 1..3 reach node 4 by the replicated address: 4 can lead.
	if r := conf(l, ConfRequest{Op: "remove", ID: l}); r.Outcome != OutcomeOK {
		t.Fatalf("remove leader: %+v", r)
	}
	tc.stop(l)
	nl := tc.leader()
	tc.must(nl, "put", KVRequest{Key: "after", Value: str("removal")})
	if got := val(tc.must(4, "get", KVRequest{Key: "after"})); got != "removal" {
		t.Fatalf("after removal n4 reads %s", got)
	}
	// Bad conf requests say why.
	for _, req := range []ConfRequest{{Op: "add", ID: 9}, {Op: "bogus", ID: 9}, {Op: "remove"}} {
		if r := conf(nl, req); r.Outcome != OutcomeFail || r.Error == "" {
			t.Fatalf("conf %+v: %+v", req, r)
		}
	}
}

func waitStatus(t *testing.T, tc *cluster, id uint64, ok func(Status) bool) Status {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var st Status
	var err error
	for time.Now().Before(deadline) {
		if st, err = tc.status(id); err == nil && ok(st) {
			return st
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("n%d status %+v (%v) never satisfied the condition", id, st, err)
	return st
}

func TestAPIRejectsBadRequests(t *testing.T) {
	tc := newCluster(t, 1)
	hc := &http.Client{Transport: &http.Transport{}} // any HTTP client: the protocol is plain HTTP
	defer hc.CloseIdleConnections()
	for _, c := range []struct {
		op, body, want string
	}{
		{"put", `{"key":"a"}`, "value is missing"},
		{"get", `{"key":""}`, "key is missing"},
		{"get", `{"key":"a","value":"x"}`, "takes no value"},
		{"put", `{"key":"a","value":"x","client":3}`, "give both client and seq"},
		{"put", `{"key":"a","value":"x","bogus":1}`, "unknown field"},
		{"put", `{"key":"a","value":"x"} {}`, "trailing data"},
		{"put", `{"key":`, "bad JSON"},
		{"put", `{"key":"\u0000splitbrain/peer/3","value":"x"}`, "reserved"},
		{"get", `{"key":"a","expected":"x"}`, "only for cas"},
	} {
		resp, err := hc.Post("http://"+tc.apiAddr(1)+"/kv/"+c.op, "application/json", strings.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		var kr KVResponse
		decodeStrict(resp.Body, &kr)
		resp.Body.Close()
		if resp.StatusCode != 400 || kr.Outcome != OutcomeFail || !strings.Contains(kr.Error, c.want) {
			t.Errorf("%s %s: HTTP %d %+v, want 400 fail mentioning %q", c.op, c.body, resp.StatusCode, kr, c.want)
		}
	}
	ctx := context.Background()
	if err := tc.c.TickRate(ctx, tc.apiAddr(1), -1); err == nil {
		t.Error("tick rate -1 accepted")
	}
	if err := tc.c.TickRate(ctx, tc.apiAddr(1), 2); err != nil {
		t.Errorf("tick rate 2: %v", err)
	}
	if err := tc.c.Net(ctx, tc.apiAddr(1), NetRequest{Links: map[string]LinkSpec{"x": {}}}); err == nil {
		t.Error("net with a bad link accepted")
	}
	if err := tc.c.Net(ctx, tc.apiAddr(1), NetRequest{Links: map[string]LinkSpec{"2": {Duplicate: 2}}}); err == nil {
		t.Error("net with duplicate 2 accepted")
	}
	if err := tc.c.Net(ctx, tc.apiAddr(1), NetRequest{Links: map[string]LinkSpec{"2": {DelayMS: 5}}}); err != nil {
		t.Errorf("net: %v", err)
	}
}

func FuzzParseKVRequest(f *testing.F) {
	f.Add(uint8(2), []byte(`{"key":"a","value":"1","client":1,"seq":2}`))
	f.Add(uint8(3), []byte(`{"key":"a","expected":null,"value":"1"}`))
	f.Add(uint8(1), []byte(`{"key":"a"}`))
	f.Add(uint8(4), []byte(`[]`))
	f.Fuzz(func(t *testing.T, op uint8, body []byte) {
		o := raftkv.Op(op%4 + 1)
		req, err := ParseKVRequest(o, body)
		if err != nil {
			return
		}
		if req.Key == "" || req.Op != o || (req.ID.Client == 0) != (req.ID.Seq == 0) || req.ID.Client >= 1<<63 {
			t.Fatalf("accepted an invalid request %+v from %q", req, body)
		}
	})
}

func TestParsePeers(t *testing.T) {
	p, err := ParsePeers("2=127.0.0.12:7000, 1=127.0.0.11:7000")
	if err != nil || FormatPeers(p) != "1=127.0.0.11:7000,2=127.0.0.12:7000" {
		t.Fatalf("got %v, %v", p, err)
	}
	for in, want := range map[string]string{
		"1=a:1,1=b:2": "listed twice",
		"x=a:1":       `node id "x"`,
		"0=a:1":       "positive",
		"1=nohost":    "address",
		"1":           "want ID=HOST:PORT",
	} {
		if _, err := ParsePeers(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParsePeers(%q) = %v, want an error mentioning %q", in, err, want)
		}
	}
}

func FuzzParsePeers(f *testing.F) {
	f.Add("1=127.0.0.11:7000,2=127.0.0.12:7000")
	f.Add("")
	f.Add("3=[::1]:80")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePeers(s)
		if err != nil {
			return
		}
		q, err := ParsePeers(FormatPeers(p))
		if err != nil || FormatPeers(q) != FormatPeers(p) {
			t.Fatalf("%q: format/parse round trip: %v", s, err)
		}
	})
}

// TestClusterServesAnyNode: the server runs any node written to the
// contract — here the tutorial node — with the same store, transport and
// API: it serves reads and writes on any member, recovers a restarted
// member from its store, adds a learner and promotes it, and says which
// node it runs.
func TestClusterServesAnyNode(t *testing.T) {
	tc := newClusterOf(t, 3, tutorial.System())
	l := tc.leader()
	f := l%3 + 1
	for i := 0; i < 40; i++ { // past a snapshot
		tc.must(f, "put", KVRequest{Key: fmt.Sprintf("k%d", i%4), Value: str(fmt.Sprint(i)), Client: 5, Seq: uint64(i + 1)})
	}
	if got := val(tc.must(l, "get", KVRequest{Key: "k3"})); got != "39" {
		t.Fatalf("get k3 via the leader = %s, want 39", got)
	}
	if r := tc.kv(l, "cas", KVRequest{Key: "k3", Expected: str("39"), Value: str("x")}); r.Outcome != OutcomeFail {
		t.Fatalf("cas, which the tutorial node does not support: %+v, want fail", r)
	}
	st, err := tc.status(l)
	if err != nil || st.System != "tutorial" || len(st.Voters) != 3 {
		t.Fatalf("status %+v, %v", st, err)
	}
	tc.stop(f)
	tc.must(l, "put", KVRequest{Key: "while-down", Value: str("yes")})
	if err := tc.start(f, true, false, 3); err != nil {
		t.Fatal(err)
	}
	if got := val(tc.must(f, "get", KVRequest{Key: "k2"})); got != "38" {
		t.Fatalf("restarted node reads k2 = %s, want 38", got)
	}
	if got := val(tc.must(f, "get", KVRequest{Key: "while-down"})); got != "yes" {
		t.Fatalf("restarted node reads %s", got)
	}
	if err := tc.start(4, false, true, 3); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if r, err := tc.c.Conf(ctx, tc.apiAddr(tc.leader()), ConfRequest{Op: "add-learner", ID: 4, PeerAddr: tc.peerAddr(4)}); err != nil || r.Outcome != OutcomeOK {
		t.Fatalf("add-learner: %+v %v", r, err)
	}
	waitStatus(t, tc, 4, func(st Status) bool { return st.Learner && st.Applied >= 40 })
	if got := val(tc.must(4, "get", KVRequest{Key: "while-down"})); got != "yes" {
		t.Fatalf("the new node reads %s", got)
	}
}

// TestPeerAddressFromReplicatedState: a member that does not know a
// peer's address reads it from the replicated address keys, through its
// node (for any node: here the reference node and the tutorial node). The
// peer is down, so no hello of its can teach the address.
func TestPeerAddressFromReplicatedState(t *testing.T) {
	for _, sys := range []raftnode.System{raftkv.System(nil), tutorial.System()} {
		t.Run(sys.Name, func(t *testing.T) {
			tc := newClusterOf(t, 3, sys)
			l := tc.leader()
			if err := tc.start(4, false, true, 3); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if r, err := tc.c.Conf(ctx, tc.apiAddr(l), ConfRequest{Op: "add-learner", ID: 4, PeerAddr: tc.peerAddr(4)}); err != nil || r.Outcome != OutcomeOK {
				t.Fatalf("add-learner: %+v %v", r, err)
			}
			waitStatus(t, tc, 4, func(st Status) bool { return st.Learner })
			tc.stop(4)
			other := l%3 + 1
			tc.stop(other)
			if err := tc.start(other, true, false, 3); err != nil { // its --peers lack n4
				t.Fatal(err)
			}
			s := tc.servers[other]
			deadline := time.Now().Add(10 * time.Second)
			for {
				var known bool
				s.exec(func() { known = s.lookupPeer(4) })
				if known {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("n%d never learned n4's address from the replicated state", other)
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
}
