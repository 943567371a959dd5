package node

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/splitbrain/splitbrain/harness/raftkv"
)

// handler serves the KV protocol ("The KV protocol" in README.md).
func (s *Server) handler() http.Handler {
	mux := http.NewServeMux()
	for name, op := range map[string]raftkv.Op{"get": raftkv.OpGet, "put": raftkv.OpPut, "cas": raftkv.OpCAS, "delete": raftkv.OpDelete} {
		mux.HandleFunc("POST /kv/"+name, func(w http.ResponseWriter, r *http.Request) { s.serveKV(w, r, op) })
	}
	mux.HandleFunc("GET /status", s.serveStatus)
	mux.HandleFunc("GET /hash", s.serveHash)
	mux.HandleFunc("POST /admin/conf", s.serveConf)
	mux.HandleFunc("POST /admin/tick-rate", s.serveTickRate)
	mux.HandleFunc("POST /admin/net", s.serveNet)
	return mux
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

// badRequest answers a request that was not carried out at all.
func badRequest(w http.ResponseWriter, format string, args ...any) {
	writeJSON(w, http.StatusBadRequest, KVResponse{Outcome: OutcomeFail, Error: fmt.Sprintf(format, args...)})
}

// ParseKVRequest checks a KV request body for op and converts it.
func ParseKVRequest(op raftkv.Op, body []byte) (raftkv.Request, error) {
	var kr KVRequest
	if err := decodeStrict(strings.NewReader(string(body)), &kr); err != nil {
		return raftkv.Request{}, err
	}
	return kvRequest(op, kr)
}

func kvRequest(op raftkv.Op, kr KVRequest) (raftkv.Request, error) {
	req := raftkv.Request{Op: op, Key: kr.Key, Expected: kr.Expected}
	switch {
	case kr.Key == "":
		return req, fmt.Errorf("%s: key is missing or empty", op)
	case strings.HasPrefix(kr.Key, PeerKeyPrefix) && op != raftkv.OpGet:
		return req, fmt.Errorf("%s: keys starting with %q are reserved for the cluster's peer addresses", op, PeerKeyPrefix)
	case (kr.Client == 0) != (kr.Seq == 0):
		return req, fmt.Errorf("%s: give both client and seq, or neither (got client %d, seq %d)", op, kr.Client, kr.Seq)
	case kr.Client >= 1<<63:
		return req, fmt.Errorf("%s: client %d is in the range reserved for nodes (≥ 2^63)", op, kr.Client)
	case kr.Expected != nil && op != raftkv.OpCAS:
		return req, fmt.Errorf("%s: expected is only for cas", op)
	}
	if op == raftkv.OpPut || op == raftkv.OpCAS {
		if kr.Value == nil {
			return req, fmt.Errorf("%s: value is missing", op)
		}
		req.Value = *kr.Value
	} else if kr.Value != nil {
		return req, fmt.Errorf("%s: takes no value", op)
	}
	req.ID = raftkv.RequestID{Client: kr.Client, Seq: kr.Seq}
	return req, nil
}

func outcomeName(o raftkv.Outcome) string {
	switch o {
	case raftkv.OK:
		return OutcomeOK
	case raftkv.Fail:
		return OutcomeFail
	default:
		return OutcomeUnknown
	}
}

// wait submits c and waits for its response; the client going away stops
// the wait (the request may still take effect).
func (s *Server) wait(w http.ResponseWriter, r *http.Request, write bool, submit func(done func(raftkv.Response)) bool) {
	resc := make(chan raftkv.Response, 1)
	if !submit(func(res raftkv.Response) { resc <- res }) {
		writeJSON(w, http.StatusServiceUnavailable, KVResponse{Outcome: OutcomeFail, Error: "node stopping: request not submitted"})
		return
	}
	select {
	case res := <-resc:
		if res.Outcome == raftkv.Unknown && !write {
			// A read has no effect: whatever happened, it failed.
			res.Outcome = raftkv.Fail
		}
		writeJSON(w, http.StatusOK, KVResponse{Outcome: outcomeName(res.Outcome), Value: res.Value, Error: res.Err})
	case <-r.Context().Done():
	}
}

func (s *Server) serveKV(w http.ResponseWriter, r *http.Request, op raftkv.Op) {
	var kr KVRequest
	if err := decodeStrict(r.Body, &kr); err != nil {
		badRequest(w, "%s: %v", op, err)
		return
	}
	req, err := kvRequest(op, kr)
	if err != nil {
		badRequest(w, "%v", err)
		return
	}
	s.wait(w, r, op != raftkv.OpGet, func(done func(raftkv.Response)) bool {
		return s.submit(call{req: req, done: done})
	})
}

func (s *Server) serveStatus(w http.ResponseWriter, r *http.Request) {
	var st Status
	if !s.exec(func() { st = s.status() }) {
		writeJSON(w, http.StatusServiceUnavailable, KVResponse{Outcome: OutcomeFail, Error: "node stopping"})
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// serveHash answers GET /hash: the applied index and the hash of the
// state machine (keys, values and client sessions) at it.
func (s *Server) serveHash(w http.ResponseWriter, r *http.Request) {
	var h HashAnswer
	kvNode, ok := s.node.(interface{ KV() *raftkv.KV })
	if !ok {
		// A node of the user's own (a raftnode.System) keeps its state to
		// itself: the convergence check is then not available.
		writeJSON(w, http.StatusNotImplemented, KVResponse{Outcome: OutcomeFail, Error: "this node does not report a state hash"})
		return
	}
	if !s.exec(func() {
		st := s.node.Status()
		h = HashAnswer{Index: st.Applied, Hash: fmt.Sprintf("%016x", kvNode.KV().Hash()),
			Detail: fmt.Sprintf("applied index %d, %d keys", st.Applied, kvNode.KV().Len())}
	}) {
		writeJSON(w, http.StatusServiceUnavailable, KVResponse{Outcome: OutcomeFail, Error: "node stopping"})
		return
	}
	writeJSON(w, http.StatusOK, h)
}

func (s *Server) serveConf(w http.ResponseWriter, r *http.Request) {
	var req ConfRequest
	if err := decodeStrict(r.Body, &req); err != nil {
		badRequest(w, "conf: %v", err)
		return
	}
	switch {
	case req.Op != "add" && req.Op != "add-learner" && req.Op != "promote" && req.Op != "remove":
		badRequest(w, "conf: op %q: want add, add-learner, promote or remove", req.Op)
		return
	case req.ID == 0:
		badRequest(w, "conf: id is missing or 0")
		return
	case (req.Op == "add" || req.Op == "add-learner") && req.PeerAddr == "":
		badRequest(w, "conf: %s needs peer_addr, the new node's raft address", req.Op)
		return
	case (req.Op == "promote" || req.Op == "remove") && req.PeerAddr != "":
		badRequest(w, "conf: %s takes no peer_addr", req.Op)
		return
	}
	s.wait(w, r, true, func(done func(raftkv.Response)) bool {
		return s.exec(func() { s.confChange(req, done) })
	})
}

func (s *Server) serveTickRate(w http.ResponseWriter, r *http.Request) {
	var req TickRateRequest
	if err := decodeStrict(r.Body, &req); err != nil {
		badRequest(w, "tick-rate: %v", err)
		return
	}
	if !(req.Rate > 0 && req.Rate <= 1000) || math.IsNaN(req.Rate) {
		badRequest(w, "tick-rate: rate must be in (0, 1000], got %v", req.Rate)
		return
	}
	if !s.exec(func() { s.setRate(req.Rate) }) {
		writeJSON(w, http.StatusServiceUnavailable, KVResponse{Outcome: OutcomeFail, Error: "node stopping"})
		return
	}
	writeJSON(w, http.StatusOK, KVResponse{Outcome: OutcomeOK})
}

func (s *Server) serveNet(w http.ResponseWriter, r *http.Request) {
	var req NetRequest
	if err := decodeStrict(r.Body, &req); err != nil {
		badRequest(w, "net: %v", err)
		return
	}
	faults := map[uint64]LinkFaults{}
	for k, spec := range req.Links {
		id, err := strconv.ParseUint(k, 10, 64)
		if err != nil || id == 0 {
			badRequest(w, "net: link %q: want a node id like \"3\"", k)
			return
		}
		f, err := spec.Faults()
		if err != nil {
			badRequest(w, "net: link %s: %v", k, err)
			return
		}
		faults[id] = f
	}
	s.tr.SetFaults(faults)
	s.log.Info("packet faults set", "links", len(faults))
	writeJSON(w, http.StatusOK, KVResponse{Outcome: OutcomeOK})
}
