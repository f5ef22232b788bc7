package testenv

import (
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
)

// Proxy forwards TCP to a target and can cut every connection at once, to
// test what happens when the broker goes away without stopping the broker
// that other tests share.
type Proxy struct {
	target string
	addr   string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]struct{}
	// held, while set, stops bytes in that direction: requests (client to
	// target) or replies (target to client). Closed to release them.
	held [2]chan struct{}
}

// Directions a Proxy can hold.
const (
	Requests = 0
	Replies  = 1
)

// NewProxy starts a proxy to target (host:port) on a free loopback port.
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	p := &Proxy{target: target, conns: map[net.Conn]struct{}{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy listen: %v", err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(p.Cut)
	return p
}

// AMQPURL rewrites an AMQP URL to go through the proxy.
func (p *Proxy) AMQPURL(t testing.TB, amqpURL string) string {
	t.Helper()
	u, err := url.Parse(amqpURL)
	if err != nil {
		t.Fatalf("parse AMQP_URL: %v", err)
	}
	u.Host = p.addr
	return u.String()
}

func (p *Proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.pipe(c)
		}
	}()
}

func (p *Proxy) pipe(c net.Conn) {
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.conns[c], p.conns[up] = struct{}{}, struct{}{}
	p.mu.Unlock()
	go func() { _, _ = io.Copy(p.gate(Requests, up), c); up.Close() }()
	_, _ = io.Copy(p.gate(Replies, c), up)
	c.Close()
}

// Hold stops forwarding in one direction, on every connection, until
// Release: to a client, holding replies looks like a server that took the
// request and never answered.
func (p *Proxy) Hold(dir int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.held[dir] == nil {
		p.held[dir] = make(chan struct{})
	}
}

// Release forwards again what Hold stopped.
func (p *Proxy) Release(dir int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.held[dir] != nil {
		close(p.held[dir])
		p.held[dir] = nil
	}
}

// gate wraps a connection's writer so each write waits while dir is held.
func (p *Proxy) gate(dir int, w io.Writer) io.Writer {
	return writerFunc(func(b []byte) (int, error) {
		p.mu.Lock()
		held := p.held[dir]
		p.mu.Unlock()
		if held != nil {
			<-held
		}
		return w.Write(b)
	})
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.addr }

// Cut closes the listener and every open connection: to a client it looks
// like the broker died.
func (p *Proxy) Cut() {
	p.Release(Requests)
	p.Release(Replies)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

// Restore listens again on the same address.
func (p *Proxy) Restore(t testing.TB) {
	t.Helper()
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatalf("proxy relisten: %v", err)
	}
	p.serve(ln)
}
