package node

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
	"time"
)

// Client speaks the KV protocol to nodes over HTTP with keep-alive. It is
// safe for concurrent use; one Client serves any number of nodes.
type Client struct {
	hc *http.Client
}

// NewClient returns a client whose connections to each node are kept
// alive (up to perHost idle ones).
func NewClient(perHost int) *Client {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: time.Second, KeepAlive: 15 * time.Second}).DialContext,
		MaxIdleConnsPerHost: perHost,
		IdleConnTimeout:     30 * time.Second,
		DisableCompression:  true,
	}
	return &Client{hc: &http.Client{Transport: tr}}
}

// Close drops the idle connections.
func (c *Client) Close() { c.hc.CloseIdleConnections() }

// CallError is a call whose answer did not arrive. Sent says whether the
// request may have reached the node (then a write's outcome is unknown);
// a refused connection means it did not.
type CallError struct {
	Sent bool
	Err  error
}

func (e *CallError) Error() string { return e.Err.Error() }
func (e *CallError) Unwrap() error { return e.Err }

// post sends body to addr's path and decodes the JSON answer into out. An
// HTTP error status with a protocol answer (a 400 saying fail) is decoded
// too; anything else is a *CallError.
func (c *Client) post(ctx context.Context, addr, path string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return &CallError{Err: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+path, bytes.NewReader(b))
	if err != nil {
		return &CallError{Err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	return c.do(req, out)
}

// ErrNotImplemented is a node answering HTTP 501 (or 404): it does not
// support the call (an optional call of the protocol).
var ErrNotImplemented = errors.New("not implemented by this node (HTTP 501)")

func (c *Client) do(req *http.Request, out any) error {
	resp, err := c.hc.Do(req)
	if err != nil {
		return &CallError{Sent: !refused(err), Err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotImplemented || resp.StatusCode == http.StatusNotFound {
		io.Copy(io.Discard, resp.Body)
		return fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, ErrNotImplemented)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return &CallError{Sent: true, Err: fmt.Errorf("reading the answer: %w", err)}
	}
	if err := json.Unmarshal(b, out); err != nil {
		return &CallError{Sent: true, Err: fmt.Errorf("HTTP %d with an answer that is not JSON: %q", resp.StatusCode, truncate(b, 200))}
	}
	return nil
}

// refused reports whether err means the request never reached the node.
func refused(err error) bool {
	if errors.Is(err, syscall.ECONNREFUSED) {
		return true
	}
	var oe *net.OpError
	return errors.As(err, &oe) && oe.Op == "dial"
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}

// KV sends one KV operation ("get", "put", "cas", "delete") to the node
// whose API listens at addr.
func (c *Client) KV(ctx context.Context, addr, op string, req KVRequest) (KVResponse, error) {
	var resp KVResponse
	err := c.post(ctx, addr, "/kv/"+op, req, &resp)
	if err == nil && resp.Outcome != OutcomeOK && resp.Outcome != OutcomeFail && resp.Outcome != OutcomeUnknown {
		err = &CallError{Sent: true, Err: fmt.Errorf("answer with outcome %q (want ok, fail or unknown)", resp.Outcome)}
	}
	return resp, err
}

// Status asks the node at addr for its status.
func (c *Client) Status(ctx context.Context, addr string) (Status, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/status", nil)
	if err != nil {
		return Status{}, err
	}
	var st Status
	if err := c.do(req, &st); err != nil {
		return Status{}, err
	}
	if st.ID == 0 {
		return Status{}, &CallError{Sent: true, Err: errors.New("status answer without an id")}
	}
	return st, nil
}

// Hash asks the node at addr for its state hash (GET /hash). A node that
// does not serve it answers 501: the error wraps ErrNotImplemented.
func (c *Client) Hash(ctx context.Context, addr string) (HashAnswer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/hash", nil)
	if err != nil {
		return HashAnswer{}, err
	}
	var h struct {
		HashAnswer
		Error string `json:"error"`
	}
	if err := c.do(req, &h); err != nil {
		return HashAnswer{}, err
	}
	if h.Hash == "" {
		why := "an answer without a hash"
		if h.Error != "" {
			why = "no hash: " + h.Error
		}
		return HashAnswer{}, &CallError{Sent: true, Err: errors.New(why)}
	}
	return h.HashAnswer, nil
}

// Conf asks the node at addr to carry out a membership change.
func (c *Client) Conf(ctx context.Context, addr string, req ConfRequest) (KVResponse, error) {
	var resp KVResponse
	err := c.post(ctx, addr, "/admin/conf", req, &resp)
	return resp, err
}

// admin posts an admin request that answers ok or fail.
func (c *Client) admin(ctx context.Context, addr, path string, body any) error {
	var resp KVResponse
	if err := c.post(ctx, addr, path, body, &resp); err != nil {
		return err
	}
	if resp.Outcome != OutcomeOK {
		return fmt.Errorf("%s: %s (%s)", path, resp.Outcome, resp.Error)
	}
	return nil
}

// TickRate sets the node's clock rate.
func (c *Client) TickRate(ctx context.Context, addr string, rate float64) error {
	return c.admin(ctx, addr, "/admin/tick-rate", TickRateRequest{Rate: rate})
}

// Net replaces the node's packet faults.
func (c *Client) Net(ctx context.Context, addr string, req NetRequest) error {
	if req.Links == nil {
		req.Links = map[string]LinkSpec{}
	}
	return c.admin(ctx, addr, "/admin/net", req)
}
