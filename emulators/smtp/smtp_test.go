package smtp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	netsmtp "net/smtp"
	"net/textproto"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tigerstudio/studio/infra/testenv"
)

// sink is a server under test on a loopback port.
type sink struct {
	srv  *Server
	addr string
	dir  string
	stop func() error
}

func start(t *testing.T, configure ...func(*Server)) *sink {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "mail") // does not exist yet: Serve creates it
	srv := New(dir, slog.New(slog.DiscardHandler))
	for _, f := range configure {
		f(srv)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	var once sync.Once
	var serveErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case serveErr = <-done:
			case <-time.After(10 * time.Second):
				serveErr = errors.New("Serve did not return after cancel")
			}
		})
		return serveErr
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return &sink{srv: srv, addr: ln.Addr().String(), dir: dir, stop: stop}
}

// messages returns the stored messages in file-name order.
func (s *sink) messages(t *testing.T) (names []string, raw [][]byte) {
	t.Helper()
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".eml") {
			t.Errorf("unexpected file %s in mail dir", e.Name())
			continue
		}
		b, err := os.ReadFile(filepath.Join(s.dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, e.Name())
		raw = append(raw, b)
	}
	return names, raw
}

func (s *sink) only(t *testing.T) *mail.Message {
	t.Helper()
	names, raw := s.messages(t)
	if len(raw) != 1 {
		t.Fatalf("stored %d messages %v, want 1", len(raw), names)
	}
	m, err := mail.ReadMessage(bytes.NewReader(raw[0]))
	if err != nil {
		t.Fatalf("stored message does not parse: %v\n%s", err, raw[0])
	}
	return m
}

func crlf(s string) []byte { return []byte(strings.ReplaceAll(s, "\n", "\r\n")) }

func TestMultipartAlternative(t *testing.T) {
	s := start(t)
	msg := crlf(`From: Tiger Studio <studio@example.com>
To: guest@example.com
Subject: Your portraits are ready
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="b1"

--b1
Content-Type: text/plain; charset=utf-8

Your photos are ready: http://example.com/j/1
--b1
Content-Type: text/html; charset=utf-8

<p>Your photos are <a href="http://example.com/j/1">ready</a></p>
--b1--
`)
	if err := netsmtp.SendMail(s.addr, nil, "studio@example.com", []string{"guest@example.com"}, msg); err != nil {
		t.Fatalf("SendMail: %v", err)
	}
	m := s.only(t)
	if got := m.Header["X-Envelope-From"]; !slices.Equal(got, []string{"<studio@example.com>"}) {
		t.Errorf("X-Envelope-From = %q", got)
	}
	if got := m.Header["X-Envelope-To"]; !slices.Equal(got, []string{"<guest@example.com>"}) {
		t.Errorf("X-Envelope-To = %q", got)
	}
	if got := m.Header.Get("Received"); !strings.Contains(got, "with ESMTP") || !strings.Contains(got, "[127.0.0.1]") {
		t.Errorf("Received = %q", got)
	}
	if got := m.Header.Get("Subject"); got != "Your portraits are ready" {
		t.Errorf("Subject = %q", got)
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type = %q, %v", mt, err)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	want := map[string]string{
		"text/plain": "Your photos are ready: http://example.com/j/1",
		"text/html":  `<p>Your photos are <a href="http://example.com/j/1">ready</a></p>`,
	}
	got := map[string]string{}
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("NextPart: %v", err)
		}
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		b, _ := io.ReadAll(p)
		got[ct] = string(b)
	}
	for ct, w := range want {
		if got[ct] != w {
			t.Errorf("%s part = %q, want %q", ct, got[ct], w)
		}
	}
}

func TestTwoRecipients(t *testing.T) {
	s := start(t)
	msg := crlf("From: a@example.com\nTo: b@example.com\nSubject: hi\n\nhello\n")
	rcpts := []string{"b@example.com", "hidden@example.com"}
	if err := netsmtp.SendMail(s.addr, nil, "a@example.com", rcpts, msg); err != nil {
		t.Fatalf("SendMail: %v", err)
	}
	m := s.only(t)
	if got := m.Header["X-Envelope-To"]; !slices.Equal(got, []string{"<b@example.com>", "<hidden@example.com>"}) {
		t.Errorf("X-Envelope-To = %q", got)
	}
	if b, _ := io.ReadAll(m.Body); string(b) != "hello\r\n" {
		t.Errorf("body = %q", b)
	}
}

func TestDotStuffing(t *testing.T) {
	s := start(t)
	// net/smtp stuffs these lines; the sink must store them as written.
	body := ".leading dot\r\n..two dots\r\n.\r\nnot the end\r\n. space\r\n"
	msg := append(crlf("Subject: dots\n\n"), body...)
	if err := netsmtp.SendMail(s.addr, nil, "a@example.com", []string{"b@example.com"}, msg); err != nil {
		t.Fatalf("SendMail: %v", err)
	}
	m := s.only(t)
	if b, _ := io.ReadAll(m.Body); string(b) != body {
		t.Errorf("body = %q, want %q", b, body)
	}
}

// dial opens a raw session and reads the greeting.
func dial(t *testing.T, addr string) *textproto.Conn {
	t.Helper()
	c, err := textproto.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, _, err := c.ReadResponse(220); err != nil {
		t.Fatalf("greeting: %v", err)
	}
	return c
}

// cmd sends a line and returns the reply code and text.
func cmd(t *testing.T, c *textproto.Conn, line string) (int, string) {
	t.Helper()
	if err := c.PrintfLine("%s", line); err != nil {
		t.Fatal(err)
	}
	code, msg, err := c.ReadResponse(0)
	if err != nil && code == 0 {
		t.Fatalf("%s: %v", line, err)
	}
	return code, msg
}

func TestCommandSequences(t *testing.T) {
	s := start(t)
	type step struct {
		line string
		code int
	}
	for name, steps := range map[string][]step{
		"mail before helo":  {{"MAIL FROM:<a@x>", 503}},
		"rcpt before mail":  {{"EHLO c", 250}, {"RCPT TO:<b@x>", 503}},
		"data before rcpt":  {{"EHLO c", 250}, {"MAIL FROM:<a@x>", 250}, {"DATA", 503}},
		"data before mail":  {{"HELO c", 250}, {"DATA", 503}},
		"nested mail":       {{"EHLO c", 250}, {"MAIL FROM:<a@x>", 250}, {"MAIL FROM:<a@x>", 503}},
		"rset clears":       {{"EHLO c", 250}, {"MAIL FROM:<a@x>", 250}, {"RCPT TO:<b@x>", 250}, {"RSET", 250}, {"DATA", 503}, {"MAIL FROM:<a@x>", 250}},
		"ehlo clears":       {{"EHLO c", 250}, {"MAIL FROM:<a@x>", 250}, {"RCPT TO:<b@x>", 250}, {"EHLO c", 250}, {"DATA", 503}},
		"unknown command":   {{"FROB", 500}, {"NOOP", 250}},
		"not implemented":   {{"STARTTLS", 502}, {"EXPN list", 502}},
		"vrfy":              {{"VRFY bob", 252}},
		"helo without name": {{"HELO", 501}, {"EHLO", 501}},
		"bad address":       {{"EHLO c", 250}, {"MAIL FROM:a@x", 501}, {"MAIL FROM:<a@x> SIZE=1", 250}, {"RCPT TO:<>", 501}, {"RCPT TO:<b@x", 501}},
		"null sender":       {{"EHLO c", 250}, {"MAIL FROM:<>", 250}, {"RCPT TO:<b@x>", 250}},
		"size too big":      {{"EHLO c", 250}, {"MAIL FROM:<a@x> SIZE=999999999999", 552}},
		"unknown param":     {{"EHLO c", 250}, {"MAIL FROM:<a@x> FOO=1", 555}},
		"auth plain":        {{"EHLO c", 250}, {"AUTH PLAIN AHUAcA==", 235}},
		"auth plain 2-step": {{"EHLO c", 250}, {"AUTH PLAIN", 334}, {"AHUAcA==", 235}},
		"auth login":        {{"EHLO c", 250}, {"AUTH LOGIN", 334}, {"dQ==", 334}, {"cA==", 235}},
		"auth cancelled":    {{"EHLO c", 250}, {"AUTH LOGIN", 334}, {"*", 501}, {"NOOP", 250}},
		"auth unknown mech": {{"EHLO c", 250}, {"AUTH CRAM-MD5", 504}},
		"line too long":     {{strings.Repeat("X", 100<<10), 500}, {"NOOP", 250}},
		"quit":              {{"QUIT", 221}},
	} {
		t.Run(name, func(t *testing.T) {
			c := dial(t, s.addr)
			for _, st := range steps {
				if code, msg := cmd(t, c, st.line); code != st.code {
					t.Fatalf("%.40s: %d %s, want %d", st.line, code, msg, st.code)
				}
			}
		})
	}
	if names, _ := s.messages(t); len(names) != 0 {
		t.Errorf("stored %v, want nothing", names)
	}
}

func TestEHLOAdvertises(t *testing.T) {
	s := start(t)
	c := dial(t, s.addr)
	code, msg := cmd(t, c, "EHLO client.example")
	if code != 250 {
		t.Fatalf("EHLO: %d %s", code, msg)
	}
	for _, ext := range []string{"8BITMIME", "SIZE 26214400", "PIPELINING", "AUTH PLAIN LOGIN"} {
		if !strings.Contains(msg, ext) {
			t.Errorf("EHLO reply %q lacks %s", msg, ext)
		}
	}
	if strings.Contains(msg, "STARTTLS") {
		t.Errorf("EHLO advertises STARTTLS: %q", msg)
	}
}

func TestMaxMessageSize(t *testing.T) {
	s := start(t, func(s *Server) { s.MaxMessageBytes = 1024 })
	c := dial(t, s.addr)
	for _, l := range []string{"EHLO c", "MAIL FROM:<a@x>", "RCPT TO:<b@x>"} {
		if code, msg := cmd(t, c, l); code != 250 {
			t.Fatalf("%s: %d %s", l, code, msg)
		}
	}
	if code, msg := cmd(t, c, "DATA"); code != 354 {
		t.Fatalf("DATA: %d %s", code, msg)
	}
	w := c.DotWriter()
	fmt.Fprintf(w, "Subject: big\r\n\r\n%s\r\n", strings.Repeat("x", 4096))
	w.Close()
	if code, msg, _ := c.ReadResponse(0); code != 552 {
		t.Fatalf("oversized DATA: %d %s, want 552", code, msg)
	}
	// The session is still in step and usable.
	if code, msg := cmd(t, c, "MAIL FROM:<a@x>"); code != 250 {
		t.Fatalf("MAIL after 552: %d %s", code, msg)
	}
	if names, _ := s.messages(t); len(names) != 0 {
		t.Errorf("stored %v, want nothing", names)
	}
}

func TestPlainAuthClient(t *testing.T) {
	s := start(t)
	// net/smtp's PlainAuth sends credentials in clear only to localhost.
	auth := netsmtp.PlainAuth("", "user", "secret", "127.0.0.1")
	if err := netsmtp.SendMail(s.addr, auth, "a@example.com", []string{"b@example.com"}, crlf("Subject: x\n\nx\n")); err != nil {
		t.Fatalf("SendMail with auth: %v", err)
	}
	s.only(t)
}

func TestSortedByArrival(t *testing.T) {
	s := start(t)
	for i := range 5 {
		msg := crlf(fmt.Sprintf("Subject: n%d\n\nbody\n", i))
		if err := netsmtp.SendMail(s.addr, nil, "a@x.example", []string{"b@x.example"}, msg); err != nil {
			t.Fatal(err)
		}
	}
	names, raw := s.messages(t)
	if !slices.IsSorted(names) || len(names) != 5 {
		t.Fatalf("names %v", names)
	}
	for i, r := range raw {
		if !bytes.Contains(r, fmt.Appendf(nil, "Subject: n%d\r\n", i)) {
			t.Errorf("%s is not message %d", names[i], i)
		}
	}
}

func TestStoppedServerRefuses(t *testing.T) {
	s := start(t)
	// An idle connection open at shutdown must not keep Serve from returning.
	idle := dial(t, s.addr)
	if err := s.stop(); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if _, _, err := idle.ReadResponse(0); err == nil {
		t.Error("idle connection still open after stop")
	}
	err := netsmtp.SendMail(s.addr, nil, "a@x.example", []string{"b@x.example"}, crlf("Subject: x\n\nx\n"))
	if err == nil {
		t.Fatal("SendMail to a stopped server succeeded")
	}
}

func TestConcurrentClients(t *testing.T) {
	s := start(t)
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			msg := crlf(fmt.Sprintf("Subject: client %d\n\nfrom client %d\n", i, i))
			errs <- netsmtp.SendMail(s.addr, nil, fmt.Sprintf("c%d@x.example", i), []string{"sink@x.example"}, msg)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("SendMail: %v", err)
		}
	}
	names, raw := s.messages(t)
	if len(names) != n {
		t.Fatalf("stored %d messages, want %d", len(names), n)
	}
	seen := map[string]bool{}
	for _, r := range raw {
		m, err := mail.ReadMessage(bytes.NewReader(r))
		if err != nil {
			t.Fatal(err)
		}
		from := m.Header.Get("X-Envelope-From")
		subj := m.Header.Get("Subject")
		if want := "<c" + strings.TrimPrefix(subj, "client ") + "@x.example>"; from != want {
			t.Errorf("message %q has envelope from %q, want %q", subj, from, want)
		}
		seen[subj] = true
	}
	if len(seen) != n {
		t.Errorf("%d distinct messages, want %d", len(seen), n)
	}
}

func TestListenAndServe(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- New(dir, nil).ListenAndServe(ctx, addr) }()
	testenv.Eventually(t, "a mail accepted once the sink listens", func() bool {
		return netsmtp.SendMail(addr, nil, "a@x.example", []string{"b@x.example"}, crlf("Subject: x\n\nx\n")) == nil
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("ListenAndServe: %v", err)
	}
	if err := New(dir, nil).ListenAndServe(t.Context(), "256.0.0.1:1"); err == nil {
		t.Error("ListenAndServe on a bad address succeeded")
	}
}
