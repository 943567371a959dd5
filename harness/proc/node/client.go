package node

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Client speaks the KV protocol to nodes over HTTP/1.1 with keep-alive.
// It is safe for concurrent use; one Client serves any number of nodes.
//
// It is a plain HTTP/1.1 client on kept-alive TCP connections: the caller's
// goroutine writes the request and reads the answer itself, with no
// goroutines of its own (net/http's client runs two per connection, and a
// process-world test spends a good part of the harness's CPU on them).
// The KV protocol needs nothing more: JSON bodies with a Content-Length,
// no redirects, no cookies, no compression.
type Client struct {
	perHost int
	dialer  net.Dialer
	mu      sync.Mutex
	idle    map[string][]*clientConn
}

type clientConn struct {
	c  net.Conn
	br *bufio.Reader
}

// NewClient returns a client that keeps up to perHost idle connections to
// each node.
func NewClient(perHost int) *Client {
	return &Client{perHost: max(perHost, 1), idle: map[string][]*clientConn{},
		dialer: net.Dialer{Timeout: time.Second, KeepAlive: 15 * time.Second}}
}

// Close drops the idle connections.
func (c *Client) Close() {
	c.mu.Lock()
	idle := c.idle
	c.idle = map[string][]*clientConn{}
	c.mu.Unlock()
	for _, conns := range idle {
		for _, cc := range conns {
			cc.c.Close()
		}
	}
}

// CallError is a call whose answer did not arrive. Sent says whether the
// request may have reached the node (then a write's outcome is unknown);
// a refused connection means it did not.
type CallError struct {
	Sent bool
	Err  error
}

func (e *CallError) Error() string { return e.Err.Error() }
func (e *CallError) Unwrap() error { return e.Err }

// ErrNotImplemented is a node answering HTTP 501 (or 404): it does not
// support the call (an optional call of the protocol).
var ErrNotImplemented = errors.New("not implemented by this node (HTTP 501)")

// post sends body to addr's path and decodes the JSON answer into out. An
// HTTP error status with a protocol answer (a 400 saying fail) is decoded
// too; anything else is a *CallError.
func (c *Client) post(ctx context.Context, addr, path string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return &CallError{Err: err}
	}
	return c.do(ctx, http.MethodPost, addr, path, b, out)
}

// do makes one request and decodes the JSON answer into out.
func (c *Client) do(ctx context.Context, method, addr, path string, body []byte, out any) error {
	what := method + " " + path
	cc, err := c.conn(ctx, addr)
	if err != nil {
		return &CallError{Sent: !refused(err), Err: fmt.Errorf("%s: %w", what, err)}
	}
	// The context bounds the whole exchange.
	if d, ok := ctx.Deadline(); ok {
		cc.c.SetDeadline(d)
	} else {
		cc.c.SetDeadline(time.Time{})
	}
	stop := context.AfterFunc(ctx, func() { cc.c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	req := make([]byte, 0, 160+len(body))
	req = append(req, method...)
	req = append(req, ' ')
	req = append(req, path...)
	req = append(req, " HTTP/1.1\r\nHost: "...)
	req = append(req, addr...)
	if body != nil {
		req = append(req, "\r\nContent-Type: application/json\r\nContent-Length: "...)
		req = strconv.AppendInt(req, int64(len(body)), 10)
	}
	req = append(req, "\r\n\r\n"...)
	req = append(req, body...)
	if _, err := cc.c.Write(req); err != nil {
		// Not all of it was written: the node cannot have read a whole
		// request, so it did not carry it out.
		cc.c.Close()
		return &CallError{Err: fmt.Errorf("%s: %w", what, c.ctxErr(ctx, err))}
	}
	resp, err := http.ReadResponse(cc.br, &http.Request{Method: method})
	if err != nil {
		cc.c.Close()
		return &CallError{Sent: true, Err: fmt.Errorf("%s: reading the answer: %w", what, c.ctxErr(ctx, err))}
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	resp.Body.Close()
	if err == nil && len(b) > maxBody {
		err = fmt.Errorf("answer exceeds %d bytes", maxBody)
	}
	if err != nil {
		cc.c.Close()
		return &CallError{Sent: true, Err: fmt.Errorf("%s: reading the answer: %w", what, c.ctxErr(ctx, err))}
	}
	// Reuse the connection only if the context's cancellation can no
	// longer touch its deadline.
	if !stop() || resp.Close || resp.ContentLength < 0 && resp.TransferEncoding == nil {
		cc.c.Close()
	} else {
		c.release(addr, cc)
	}
	if resp.StatusCode == http.StatusNotImplemented || resp.StatusCode == http.StatusNotFound {
		return fmt.Errorf("%s: %w", what, ErrNotImplemented)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return &CallError{Sent: true, Err: fmt.Errorf("%s: HTTP %d with an answer that is not JSON: %q", what, resp.StatusCode, truncate(b, 200))}
	}
	return nil
}

// ctxErr prefers the context's error (a timeout reads as one) to the
// connection's.
func (c *Client) ctxErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	return err
}

// conn returns an idle connection to addr that is still open, or dials
// one.
func (c *Client) conn(ctx context.Context, addr string) (*clientConn, error) {
	for {
		c.mu.Lock()
		conns := c.idle[addr]
		var cc *clientConn
		if n := len(conns); n > 0 {
			cc, c.idle[addr] = conns[n-1], conns[:n-1]
		}
		c.mu.Unlock()
		if cc == nil {
			break
		}
		if open(cc.c) {
			return cc, nil
		}
		cc.c.Close() // the node closed it (or died): never send on it
	}
	nc, err := c.dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return &clientConn{c: nc, br: bufio.NewReaderSize(nc, 4096)}, nil
}

func (c *Client) release(addr string, cc *clientConn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.idle[addr]) >= c.perHost || cc.br.Buffered() > 0 {
		cc.c.Close()
		return
	}
	c.idle[addr] = append(c.idle[addr], cc)
}

// open reports whether an idle connection is still open: the node has
// neither closed it nor sent anything unasked on it. It peeks without
// waiting.
func open(nc net.Conn) bool {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return true
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	alive := false
	var b [1]byte
	err = rc.Read(func(fd uintptr) bool {
		n, _, rerr := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		alive = n < 0 && (rerr == syscall.EAGAIN || rerr == syscall.EWOULDBLOCK)
		return true // never wait
	})
	return err == nil && alive
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
	var st Status
	if err := c.do(ctx, http.MethodGet, addr, "/status", nil, &st); err != nil {
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
	var h struct {
		HashAnswer
		Error string `json:"error"`
	}
	if err := c.do(ctx, http.MethodGet, addr, "/hash", nil, &h); err != nil {
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
