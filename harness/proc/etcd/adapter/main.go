//go:build ignore

// Command etcdadapter runs one etcd member and serves splitbrain's KV
// protocol for it ("The KV protocol" in README.md), talking to that member
// alone through etcd's own Go client (go.etcd.io/etcd/client/v3), pinned
// to it as etcd's robustness tests pin their clients.
//
//	etcdadapter --id 3 --api-addr 127.0.0.13:P --endpoint http://127.0.0.13:C \
//	  --peer-port Q [--serializable] [--request-timeout 4s] -- /usr/bin/etcd --name n3 …
//
// It starts etcd as its child (same process group, killed if the adapter
// dies) and exits when etcd exits, with etcd's exit status: to the process
// world the pair is one node. This file is not part of the splitbrain
// module (build tag "ignore"): package harness/proc/etcd embeds it with
// its go.mod and builds it in the user's cache directory, so that etcd's
// client and its dependencies stay out of the harness's own module.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

var (
	id           = flag.Uint64("id", 0, "this node's splitbrain ID")
	apiAddr      = flag.String("api-addr", "", "host:port to serve the KV protocol on")
	endpoint     = flag.String("endpoint", "", "the member's client URL")
	peerPort     = flag.Int("peer-port", 0, "the peer port every member listens on (members are told apart by address)")
	serializable = flag.Bool("serializable", false, "serve gets as serializable reads (local, possibly stale) instead of linearizable ones")
	reqTimeout   = flag.Duration("request-timeout", 4*time.Second, "give up on an etcd request after this (a write then ends unknown)")
)

func main() {
	flag.Parse()
	argv := flag.Args()
	if *id == 0 || *apiAddr == "" || *endpoint == "" || *peerPort == 0 || len(argv) == 0 {
		fmt.Fprintln(os.Stderr, "etcdadapter: --id, --api-addr, --endpoint, --peer-port and an etcd command line after -- are required")
		os.Exit(2)
	}
	// The parent-death signal is tied to the thread that starts the
	// child: keep this one.
	runtime.LockOSThread()
	etcd := exec.Command(argv[0], argv[1:]...)
	etcd.Stdout, etcd.Stderr = os.Stdout, os.Stderr
	etcd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := etcd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "etcdadapter: starting etcd:", err)
		os.Exit(1)
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		s := <-sigs
		etcd.Process.Signal(s)
	}()

	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   []string{*endpoint},
		DialTimeout: time.Second,
		Logger:      zap.NewNop(),
		// No AutoSyncInterval: the client stays pinned to its member.
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "etcdadapter: client:", err)
		etcd.Process.Kill()
		os.Exit(1)
	}
	a := &adapter{cli: cli}
	ln, err := net.Listen("tcp", *apiAddr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "etcdadapter: listen:", err)
		etcd.Process.Kill()
		os.Exit(1)
	}
	go a.awaitEtcd()
	go http.Serve(ln, a.handler())
	fmt.Fprintf(os.Stderr, "etcdadapter: n%d serves the KV protocol on %s for etcd at %s (pid %d)\n", *id, *apiAddr, *endpoint, etcd.Process.Pid)

	err = etcd.Wait()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
		if code < 0 {
			code = 1 // killed by a signal
		}
	} else if err != nil {
		code = 1
	}
	fmt.Fprintf(os.Stderr, "etcdadapter: etcd exited (%v)\n", err)
	os.Exit(code)
}

type adapter struct {
	cli *clientv3.Client
	// started is set once etcd serves its peers; ready once it first
	// answered Status. Before started /status answers 503 (the harness
	// waits, and sees etcd exit if it refuses to start); between the two
	// it answers at once that the node is starting.
	started, ready atomic.Bool
}

// awaitEtcd sets started once etcd serves its peers (it has opened its
// data and, joining a cluster, been accepted by it: etcd validates the
// membership before it serves anything), then ready once it answers
// clients.
func (a *adapter) awaitEtcd() {
	u, _ := url.Parse(*endpoint)
	version := fmt.Sprintf("http://%s/version", net.JoinHostPort(u.Hostname(), strconv.Itoa(*peerPort)))
	hc := &http.Client{Timeout: time.Second}
	for {
		resp, err := hc.Get(version)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				a.started.Store(true)
				break
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := a.cli.Status(ctx, *endpoint)
		cancel()
		if err == nil {
			a.ready.Store(true)
			fmt.Fprintf(os.Stderr, "etcdadapter: etcd answers\n")
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (a *adapter) handler() http.Handler {
	mux := http.NewServeMux()
	for _, op := range []string{"get", "put", "cas", "delete"} {
		mux.HandleFunc("POST /kv/"+op, func(w http.ResponseWriter, r *http.Request) { a.serveKV(w, r, op) })
	}
	mux.HandleFunc("GET /status", a.serveStatus)
	mux.HandleFunc("GET /hash", a.serveHash)
	mux.HandleFunc("POST /admin/conf", a.serveConf)
	notImpl := func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotImplemented, answer{Outcome: "fail", Error: "etcd has no " + r.URL.Path})
	}
	mux.HandleFunc("POST /admin/tick-rate", notImpl)
	mux.HandleFunc("POST /admin/net", notImpl)
	return mux
}

// The KV protocol's messages.

type kvRequest struct {
	Key      string  `json:"key"`
	Value    *string `json:"value,omitempty"`
	Expected *string `json:"expected,omitempty"`
	Client   uint64  `json:"client,omitempty"`
	Seq      uint64  `json:"seq,omitempty"`
}

type answer struct {
	Outcome string  `json:"outcome"`
	Value   *string `json:"value"`
	Error   string  `json:"error,omitempty"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 16<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("bad JSON body: %v", err)
	}
	if dec.More() {
		return errors.New("trailing data after the JSON object")
	}
	return nil
}

func (a *adapter) serveKV(w http.ResponseWriter, r *http.Request, op string) {
	var req kvRequest
	if err := decode(r, &req); err != nil {
		writeJSON(w, http.StatusBadRequest, answer{Outcome: "fail", Error: err.Error()})
		return
	}
	switch {
	case req.Key == "":
		writeJSON(w, http.StatusBadRequest, answer{Outcome: "fail", Error: op + ": key is missing or empty"})
		return
	case (op == "put" || op == "cas") && req.Value == nil:
		writeJSON(w, http.StatusBadRequest, answer{Outcome: "fail", Error: op + ": value is missing"})
		return
	case (op == "get" || op == "delete") && req.Value != nil:
		writeJSON(w, http.StatusBadRequest, answer{Outcome: "fail", Error: op + ": takes no value"})
		return
	case req.Expected != nil && op != "cas":
		writeJSON(w, http.StatusBadRequest, answer{Outcome: "fail", Error: op + ": expected is only for cas"})
		return
	case (req.Client == 0) != (req.Seq == 0):
		writeJSON(w, http.StatusBadRequest, answer{Outcome: "fail", Error: op + ": give both client and seq, or neither"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), *reqTimeout)
	defer cancel()
	var err error
	switch op {
	case "get":
		var opts []clientv3.OpOption
		if *serializable {
			opts = append(opts, clientv3.WithSerializable())
		}
		var resp *clientv3.GetResponse
		if resp, err = a.cli.Get(ctx, req.Key, opts...); err == nil {
			var v *string
			if len(resp.Kvs) > 0 {
				s := string(resp.Kvs[0].Value)
				v = &s
			}
			writeJSON(w, http.StatusOK, answer{Outcome: "ok", Value: v})
			return
		}
	case "put":
		_, err = a.cli.Put(ctx, req.Key, *req.Value)
	case "delete":
		_, err = a.cli.Delete(ctx, req.Key)
	case "cas":
		cmp := clientv3.Compare(clientv3.CreateRevision(req.Key), "=", 0) // expected absent
		if req.Expected != nil {
			cmp = clientv3.Compare(clientv3.Value(req.Key), "=", *req.Expected)
		}
		var resp *clientv3.TxnResponse
		resp, err = a.cli.Txn(ctx).If(cmp).Then(clientv3.OpPut(req.Key, *req.Value)).Commit()
		if err == nil && !resp.Succeeded {
			writeJSON(w, http.StatusOK, answer{Outcome: "fail", Error: "cas: value did not match"})
			return
		}
	}
	if err == nil {
		writeJSON(w, http.StatusOK, answer{Outcome: "ok"})
		return
	}
	outcome := "unknown"
	if op == "get" || notApplied(err) {
		// A read has no effect; a write etcd refused before proposing it
		// never will have one.
		outcome = "fail"
	}
	writeJSON(w, http.StatusOK, answer{Outcome: outcome, Error: err.Error()})
}

// notApplied reports whether a write's error means etcd certainly did not
// and will not apply it. etcd's robustness tests count every failed write
// as possibly applied; the exceptions here are refusals etcd makes before
// it proposes anything (or, for a full database, at apply time without
// effect), and requests that never left this process.
func notApplied(err error) bool {
	if isErr(err,
		rpctypes.ErrGRPCRequestTooManyRequests, // committed index too far ahead of applied: refused before proposing
		rpctypes.ErrGRPCNoSpace,                // NOSPACE alarm: refused, never applied
		rpctypes.ErrGRPCNotSupportedForLearner, // a learner serves no writes
		rpctypes.ErrGRPCEmptyKey, rpctypes.ErrGRPCRequestTooLarge, rpctypes.ErrGRPCTooManyOps) {
		return true
	}
	if s, ok := status.FromError(err); ok && s.Code() == codes.InvalidArgument {
		return true // validation, before proposing
	}
	// The client could not connect at all: nothing was sent. (clientv3
	// retries a write only when it was never sent.)
	return strings.Contains(err.Error(), "connect: connection refused")
}

// status is the KV protocol's GET /status answer.
type statusAnswer struct {
	ID        uint64   `json:"id"`
	Term      uint64   `json:"term"`
	Leader    uint64   `json:"leader"`
	State     string   `json:"state"`
	Commit    uint64   `json:"commit"`
	Applied   uint64   `json:"applied"`
	Voters    []uint64 `json:"voters"`
	Learners  []uint64 `json:"learners"`
	Learner   bool     `json:"learner"`
	Removed   bool     `json:"removed"`
	Replaying bool     `json:"replaying"`
	Version   string   `json:"version,omitempty"`
	Revision  int64    `json:"revision"`
}

// nodeID maps an etcd member to splitbrain's node ID by its peer URL: node
// n listens on 127.0.0.(10+n) at the run's peer port. 0 if it is not one.
func nodeID(m interface{ GetPeerURLs() []string }) uint64 {
	for _, u := range m.GetPeerURLs() {
		pu, err := url.Parse(u)
		if err != nil || pu.Port() != strconv.Itoa(*peerPort) {
			continue
		}
		ip := net.ParseIP(pu.Hostname()).To4()
		if ip != nil && ip[0] == 127 && ip[1] == 0 && ip[2] == 0 && ip[3] > 10 {
			return uint64(ip[3]) - 10
		}
	}
	return 0
}

func (a *adapter) serveStatus(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 400*time.Millisecond)
	defer cancel()
	var st *clientv3.StatusResponse
	var err error
	if a.ready.Load() {
		st, err = a.cli.Status(ctx, *endpoint)
	}
	if st == nil && !a.started.Load() {
		writeJSON(w, http.StatusServiceUnavailable, answer{Outcome: "fail", Error: "etcd is starting"})
		return
	}
	if st == nil {
		// etcd serves clients only once it has joined a quorum: a member
		// restarted while most of the cluster is down does not answer
		// until the others are back. The node is up all the same (its
		// process runs, and it is replaying and catching up): say so at
		// once, so that the harness can go on restarting the others.
		out := statusAnswer{ID: *id, State: "StateFollower", Replaying: true, Voters: []uint64{}, Learners: []uint64{}}
		if err != nil {
			writeJSON(w, http.StatusServiceUnavailable, answer{Outcome: "fail", Error: "etcd status: " + err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, out)
		return
	}
	// A learner answers Status but not MemberList (etcd serves learners
	// only Status and serializable reads): it reports no membership then.
	// The member list is read serializably (this member's own view:
	// clients from v3.6 on ask for a linearizable one by default, which a
	// member cut off from the leader cannot give, and status must answer
	// there too).
	var members []*etcdserverpb.Member
	if ml, err := a.cli.MemberList(ctx, clientv3.WithSerializable()); err == nil {
		members = ml.Members
	} else if !st.IsLearner {
		writeJSON(w, http.StatusServiceUnavailable, answer{Outcome: "fail", Error: "etcd member list: " + err.Error()})
		return
	}
	out := statusAnswer{ID: *id, Term: st.RaftTerm, Commit: st.RaftIndex, Applied: st.RaftAppliedIndex,
		Learner: st.IsLearner, Version: st.Version, State: "StateFollower", Voters: []uint64{}, Learners: []uint64{}}
	if st.Header != nil {
		out.Revision = st.Header.Revision
	}
	if out.Applied == 0 {
		out.Applied = st.RaftIndex // etcd before 3.4 reports no applied index
	}
	self := st.Header.GetMemberId()
	for _, m := range members {
		nid := nodeID(m)
		if m.ID == st.Leader {
			out.Leader = nid
		}
		if nid == 0 {
			continue
		}
		if m.IsLearner {
			out.Learners = append(out.Learners, nid)
		} else {
			out.Voters = append(out.Voters, nid)
		}
	}
	if st.Leader == self && st.Leader != 0 {
		out.State = "StateLeader"
	}
	sort.Slice(out.Voters, func(i, j int) bool { return out.Voters[i] < out.Voters[j] })
	sort.Slice(out.Learners, func(i, j int) bool { return out.Learners[i] < out.Learners[j] })
	writeJSON(w, http.StatusOK, out)
}

// serveHash answers GET /hash: the member's KV revision and a hash of
// its key-value data at that revision: every key with its value, create
// and mod revisions and version, read by a serializable range at the
// revision (from the member itself). etcd's robustness tests compare
// maintenance HashKV instead, but etcd does not serve HashKV to learners
// (only Status and serializable reads), and a learner must converge too;
// HashKV is added to the detail where the member serves it.
func (a *adapter) serveHash(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	st, err := a.cli.Status(ctx, *endpoint)
	if err != nil || st.Header == nil {
		writeJSON(w, http.StatusServiceUnavailable, answer{Outcome: "fail", Error: fmt.Sprintf("etcd status: %v", err)})
		return
	}
	rev := st.Header.Revision
	resp, err := a.cli.Get(ctx, "", clientv3.WithPrefix(), clientv3.WithSerializable(), clientv3.WithRev(rev))
	if err != nil {
		writeJSON(w, http.StatusServiceUnavailable, answer{Outcome: "fail", Error: fmt.Sprintf("etcd range at revision %d: %v", rev, err)})
		return
	}
	h := sha256.New()
	for _, kv := range resp.Kvs {
		fmt.Fprintf(h, "%d:%s %d:%s %d %d %d\n", len(kv.Key), kv.Key, len(kv.Value), kv.Value, kv.CreateRevision, kv.ModRevision, kv.Version)
	}
	detail := fmt.Sprintf("revision %d, %d keys", rev, len(resp.Kvs))
	if !st.IsLearner {
		if hk, err := a.cli.HashKV(ctx, *endpoint, rev); err == nil {
			detail += fmt.Sprintf(", HashKV %08x (compact revision %d)", hk.Hash, hk.CompactRevision)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"index": rev, "hash": hex.EncodeToString(h.Sum(nil))[:16], "detail": detail})
}

type confRequest struct {
	Op       string `json:"op"`
	ID       uint64 `json:"id"`
	PeerAddr string `json:"peer_addr,omitempty"`
}

func (a *adapter) serveConf(w http.ResponseWriter, r *http.Request) {
	var req confRequest
	if err := decode(r, &req); err != nil {
		writeJSON(w, http.StatusBadRequest, answer{Outcome: "fail", Error: err.Error()})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), *reqTimeout)
	defer cancel()
	var err error
	switch req.Op {
	case "add", "add-learner":
		if req.PeerAddr == "" {
			writeJSON(w, http.StatusBadRequest, answer{Outcome: "fail", Error: "peer_addr is required"})
			return
		}
		urls := []string{"http://" + req.PeerAddr}
		if req.Op == "add" {
			_, err = a.cli.MemberAdd(ctx, urls)
		} else {
			_, err = a.cli.MemberAddAsLearner(ctx, urls)
		}
	case "promote", "remove":
		ml, lerr := a.cli.MemberList(ctx)
		if lerr != nil {
			writeJSON(w, http.StatusOK, answer{Outcome: "fail", Error: "member list: " + lerr.Error()})
			return
		}
		var mid uint64
		for _, m := range ml.Members {
			if nodeID(m) == req.ID {
				mid = m.ID
			}
		}
		if mid == 0 {
			writeJSON(w, http.StatusOK, answer{Outcome: "fail", Error: fmt.Sprintf("n%d is not a member", req.ID)})
			return
		}
		if req.Op == "promote" {
			_, err = a.cli.MemberPromote(ctx, mid)
		} else {
			_, err = a.cli.MemberRemove(ctx, mid)
		}
	default:
		writeJSON(w, http.StatusBadRequest, answer{Outcome: "fail", Error: fmt.Sprintf("op %q: want add, add-learner, promote or remove", req.Op)})
		return
	}
	if err == nil {
		writeJSON(w, http.StatusOK, answer{Outcome: "ok"})
		return
	}
	outcome := "unknown"
	if confNotApplied(err) {
		outcome = "fail"
	}
	writeJSON(w, http.StatusOK, answer{Outcome: outcome, Error: err.Error()})
}

// confNotApplied: membership changes etcd refuses before proposing them.
func confNotApplied(err error) bool {
	return isErr(err, rpctypes.ErrGRPCPeerURLExist, rpctypes.ErrGRPCMemberBadURLs, rpctypes.ErrGRPCMemberNotFound,
		rpctypes.ErrGRPCMemberNotLearner, rpctypes.ErrGRPCLearnerNotReady, rpctypes.ErrGRPCTooManyLearners,
		rpctypes.ErrGRPCUnhealthy) || notApplied(err)
}

// isErr reports whether err is one of etcd's errors (by its description,
// the form every client-side wrapping keeps).
func isErr(err error, errs ...error) bool {
	d := rpctypes.ErrorDesc(err)
	return slices.ContainsFunc(errs, func(e error) bool { return rpctypes.ErrorDesc(e) == d })
}
