// Package smtp is the local stack's mail sink: a small real SMTP server
// (a subset of RFC 5321) that accepts every message and writes it, as
// received, to a directory, one .eml file per message. Notify talks to it
// exactly as it would talk to a real relay, and tests read the files.
//
// What it speaks: the 220 greeting, EHLO/HELO, MAIL FROM (SIZE, BODY and
// SMTPUTF8 parameters accepted), RCPT TO (repeated), DATA with dot-unstuffing,
// RSET, NOOP, VRFY (252), HELP and QUIT. EHLO advertises 8BITMIME, SIZE,
// PIPELINING, SMTPUTF8 and AUTH PLAIN LOGIN. There is no STARTTLS: it is a
// loopback sink. AUTH is accepted with any credentials and otherwise ignored,
// because many clients (nodemailer, Go's net/smtp with an Auth) insist on
// authenticating when a username is configured, and a sink that refused them
// would force a different client setup locally than in the cloud.
//
// Each accepted message is stored as
//
//	X-Envelope-From: <sender>
//	X-Envelope-To: <rcpt1>
//	X-Envelope-To: <rcpt2>
//	Received: from <helo> ([ip]) by <host> with ESMTP id <id>; <date>
//	<the message as received, dot-unstuffed>
//
// so tests see the envelope, which the message headers need not reveal (Bcc).
// Files are named <unixnano>-<seq>.eml with fixed-width numbers, so sorting
// the names sorts by arrival; they are written to a dot-prefixed temporary
// file and renamed, so a reader never sees half a message.
package smtp

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of the Server's tunables.
const (
	DefaultMaxMessageBytes = 25 << 20
	DefaultMaxRecipients   = 100
	DefaultIdleTimeout     = 5 * time.Minute
)

// maxCommandLine bounds a command line. RFC 5321 says 512 octets; a little
// more leaves room for long addresses with parameters.
const maxCommandLine = 2048

// Server is an SMTP sink. Set the exported fields before Serve; they must not
// change while it runs.
type Server struct {
	// Hostname is announced in the greeting and Received header.
	Hostname string
	// MaxMessageBytes bounds the message size (after dot-unstuffing);
	// larger messages are refused with 552.
	MaxMessageBytes int64
	// MaxRecipients bounds RCPT TO per message; more get 452.
	MaxRecipients int
	// IdleTimeout closes a connection that sends nothing for this long.
	IdleTimeout time.Duration

	dir    string
	logger *slog.Logger
	seq    atomic.Uint64
}

// New returns a server that stores messages in dir (created on Serve).
func New(dir string, logger *slog.Logger) *Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Server{
		Hostname:        "localhost",
		MaxMessageBytes: DefaultMaxMessageBytes,
		MaxRecipients:   DefaultMaxRecipients,
		IdleTimeout:     DefaultIdleTimeout,
		dir:             dir,
		logger:          logger,
	}
}

// ListenAndServe listens on addr (host:port) and serves until ctx ends.
func (s *Server) ListenAndServe(ctx context.Context, addr string) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("smtp.ListenAndServe: %w", err)
	}
	return s.Serve(ctx, ln)
}

// Serve accepts connections on ln until ctx ends, then closes ln and every
// open connection (a message not yet fully received is dropped, as a real
// server going down would) and returns nil once all handlers finished. It
// returns an error if the directory cannot be created or Accept fails.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		ln.Close()
		return fmt.Errorf("smtp.Serve: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	conns := newConnSet()
	var wg sync.WaitGroup
	// One goroutine does the shutdown, so Accept and every handler unblock.
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		<-ctx.Done()
		ln.Close()
		conns.closeAll()
	}()

	s.logger.InfoContext(ctx, "smtp sink ready", slog.String("addr", ln.Addr().String()), slog.String("dir", s.dir))
	var acceptErr error
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() == nil {
				acceptErr = fmt.Errorf("smtp.Serve: accept: %w", err)
			}
			break
		}
		if !conns.add(c) {
			c.Close()
			continue
		}
		wg.Go(func() {
			defer conns.remove(c)
			s.handle(ctx, c)
		})
	}
	cancel()
	<-stopped
	wg.Wait()
	s.logger.Info("smtp sink stopped")
	return acceptErr
}

// connSet is the open connections, so that shutdown can close them.
type connSet struct {
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

func newConnSet() *connSet { return &connSet{conns: map[net.Conn]struct{}{}} }

// add records c; after closeAll it refuses (false) and c is the caller's
// to close.
func (cs *connSet) add(c net.Conn) bool {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.closed {
		return false
	}
	cs.conns[c] = struct{}{}
	return true
}

// remove forgets c and closes it.
func (cs *connSet) remove(c net.Conn) {
	cs.mu.Lock()
	delete(cs.conns, c)
	cs.mu.Unlock()
	c.Close()
}

// closeAll closes every open connection and refuses new ones.
func (cs *connSet) closeAll() {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.closed = true
	for c := range cs.conns {
		c.Close()
	}
}

// session is one connection's state.
type session struct {
	s      *Server
	c      net.Conn
	r      *bufio.Reader
	w      *bufio.Writer
	log    *slog.Logger
	helo   string
	from   string
	inMail bool
	rcpts  []string
}

var errLineTooLong = errors.New("line too long")

func (s *Server) handle(ctx context.Context, c net.Conn) {
	ss := &session{
		s: s, c: c,
		r:   bufio.NewReaderSize(c, 64<<10),
		w:   bufio.NewWriter(c),
		log: s.logger.With(slog.String("remote", c.RemoteAddr().String())),
	}
	ss.reply(220, s.Hostname+" ESMTP tiger-studio mail sink")
	for ctx.Err() == nil {
		if err := ss.flush(); err != nil {
			return
		}
		line, err := ss.readCommand()
		if errors.Is(err, errLineTooLong) {
			ss.reply(500, "5.5.2 Line too long")
			continue
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && ctx.Err() == nil {
				ss.log.Debug("smtp read", slog.Any("error", err))
			}
			return
		}
		if quit := ss.command(ctx, line); quit {
			_ = ss.flush()
			return
		}
	}
}

func (ss *session) reply(code int, lines ...string) {
	for i, l := range lines {
		sep := " "
		if i < len(lines)-1 {
			sep = "-"
		}
		fmt.Fprintf(ss.w, "%d%s%s\r\n", code, sep, l)
	}
}

func (ss *session) flush() error {
	// Replies are buffered so that pipelined commands get their answers in
	// one write; flush only when the client is waiting for input.
	if ss.r.Buffered() > 0 {
		return nil
	}
	return ss.w.Flush()
}

func (ss *session) deadline() {
	if ss.s.IdleTimeout > 0 {
		_ = ss.c.SetDeadline(time.Now().Add(ss.s.IdleTimeout))
	}
}

// readCommand reads one command line without its line ending.
func (ss *session) readCommand() (string, error) {
	ss.deadline()
	var line []byte
	tooLong := false
	for {
		chunk, err := ss.r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			tooLong = true
			continue
		}
		if err != nil {
			return "", err
		}
		if !tooLong {
			line = append(line, chunk...)
			if len(line) > maxCommandLine {
				tooLong = true
			}
		}
		break
	}
	if tooLong {
		return "", errLineTooLong
	}
	return strings.TrimRight(string(line), "\r\n"), nil
}

func (ss *session) reset() {
	ss.from, ss.inMail, ss.rcpts = "", false, nil
}

// command runs one command; it reports whether the session ends.
func (ss *session) command(ctx context.Context, line string) bool {
	verb, arg, _ := strings.Cut(line, " ")
	arg = strings.TrimSpace(arg)
	switch verb = strings.ToUpper(verb); verb {
	case "EHLO", "HELO":
		ss.hello(verb, arg)
	case "MAIL":
		ss.mail(arg)
	case "RCPT":
		ss.rcpt(arg)
	case "DATA":
		if arg != "" {
			ss.reply(501, "5.5.4 DATA takes no arguments")
			return false
		}
		return ss.data(ctx)
	case "RSET":
		ss.reset()
		ss.reply(250, "2.0.0 OK")
	case "NOOP":
		ss.reply(250, "2.0.0 OK")
	case "QUIT":
		ss.reply(221, "2.0.0 Bye")
		return true
	case "AUTH":
		return ss.auth(arg)
	case "VRFY":
		// RFC 5321 3.5.3: 252 is the answer of a server that will not verify.
		ss.reply(252, "2.5.0 Cannot VRFY user, but will accept message")
	case "HELP":
		ss.reply(214, "2.0.0 Commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT AUTH VRFY HELP")
	case "EXPN", "TURN", "ETRN", "BDAT", "STARTTLS", "SEND", "SOML", "SAML":
		ss.reply(502, "5.5.1 Command not implemented")
	default:
		ss.reply(500, "5.5.2 Syntax error, command unrecognized")
	}
	return false
}

// hello answers EHLO and HELO: both name the client and clear the
// transaction in hand (RFC 5321 4.1.4); only EHLO's answer lists the
// extensions.
func (ss *session) hello(verb, domain string) {
	if domain == "" {
		ss.reply(501, "5.5.4 "+verb+" needs a domain")
		return
	}
	ss.reset()
	ss.helo = domain
	if verb == "HELO" {
		ss.reply(250, ss.s.Hostname)
		return
	}
	ss.reply(250,
		ss.s.Hostname+" greets "+domain,
		"8BITMIME",
		"SIZE "+strconv.FormatInt(ss.s.MaxMessageBytes, 10),
		"PIPELINING",
		"SMTPUTF8",
		"AUTH PLAIN LOGIN",
		"HELP")
}

// parsePath parses `FROM:<addr> params` or `TO:<addr> params`.
func parsePath(arg, prefix string) (addr string, params []string, err error) {
	if len(arg) < len(prefix) || !strings.EqualFold(arg[:len(prefix)], prefix) {
		return "", nil, fmt.Errorf("expected %s<address>", prefix)
	}
	rest := strings.TrimSpace(arg[len(prefix):])
	if !strings.HasPrefix(rest, "<") {
		return "", nil, errors.New("address must be in angle brackets")
	}
	end := strings.IndexByte(rest, '>')
	if end < 0 {
		return "", nil, errors.New("unterminated address")
	}
	addr = rest[1:end]
	for _, r := range addr {
		// Control characters or spaces would let a client inject headers
		// into the envelope lines we prepend.
		if r < 0x21 || r == 0x7f {
			return "", nil, errors.New("invalid character in address")
		}
	}
	// Drop a source route (RFC 5321 4.1.2: accepted and ignored).
	if i := strings.IndexByte(addr, ':'); i >= 0 && strings.HasPrefix(addr, "@") {
		addr = addr[i+1:]
	}
	return addr, strings.Fields(rest[end+1:]), nil
}

func (ss *session) mail(arg string) {
	if ss.helo == "" {
		ss.reply(503, "5.5.1 Send EHLO or HELO first")
		return
	}
	if ss.inMail {
		ss.reply(503, "5.5.1 Nested MAIL command")
		return
	}
	addr, params, err := parsePath(arg, "FROM:")
	if err != nil {
		ss.reply(501, "5.5.4 "+err.Error())
		return
	}
	for _, p := range params {
		k, v, _ := strings.Cut(p, "=")
		switch strings.ToUpper(k) {
		case "SIZE":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				ss.reply(501, "5.5.4 Bad SIZE parameter")
				return
			}
			if n > ss.s.MaxMessageBytes {
				ss.reply(552, "5.3.4 Message size exceeds fixed maximum message size")
				return
			}
		case "BODY", "SMTPUTF8", "AUTH", "RET", "ENVID":
			// Accepted; the sink stores bytes as they come.
		default:
			ss.reply(555, "5.5.4 Unsupported parameter "+k)
			return
		}
	}
	ss.from, ss.inMail, ss.rcpts = addr, true, nil
	ss.reply(250, "2.1.0 OK")
}

func (ss *session) rcpt(arg string) {
	if !ss.inMail {
		ss.reply(503, "5.5.1 Need MAIL before RCPT")
		return
	}
	addr, _, err := parsePath(arg, "TO:")
	if err != nil {
		ss.reply(501, "5.5.4 "+err.Error())
		return
	}
	if addr == "" {
		ss.reply(501, "5.1.3 Empty recipient")
		return
	}
	if len(ss.rcpts) >= ss.s.MaxRecipients {
		ss.reply(452, "4.5.3 Too many recipients")
		return
	}
	ss.rcpts = append(ss.rcpts, addr)
	ss.reply(250, "2.1.5 OK")
}

func (ss *session) data(ctx context.Context) bool {
	if !ss.inMail || len(ss.rcpts) == 0 {
		ss.reply(503, "5.5.1 Need RCPT before DATA")
		return false
	}
	ss.reply(354, "End data with <CR><LF>.<CR><LF>")
	if err := ss.w.Flush(); err != nil {
		return true
	}
	body, tooBig, err := ss.readData()
	if err != nil {
		// The connection broke mid-message: nothing is stored.
		if ctx.Err() == nil {
			ss.log.Warn("smtp message aborted", slog.Any("error", err))
		}
		return true
	}
	defer ss.reset()
	if tooBig {
		ss.reply(552, "5.3.4 Message size exceeds fixed maximum message size")
		return false
	}
	name, err := ss.s.store(ss, body)
	if err != nil {
		ss.log.Error("smtp store message", slog.Any("error", err))
		ss.reply(451, "4.3.0 Could not store message")
		return false
	}
	ss.log.Info("smtp message stored", slog.String("file", name), slog.Int("recipients", len(ss.rcpts)), slog.Int("bytes", len(body)))
	ss.reply(250, "2.0.0 OK queued as "+strings.TrimSuffix(name, ".eml"))
	return false
}

// readData reads the message up to the "." line, undoing dot-stuffing. A
// message over the limit is read to its end (so the session stays in sync)
// but not kept.
func (ss *session) readData() (body []byte, tooBig bool, err error) {
	var buf bytes.Buffer
	atLineStart := true
	for {
		ss.deadline()
		chunk, err := ss.r.ReadSlice('\n')
		complete := err == nil
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return nil, false, err
		}
		if atLineStart && complete && (string(chunk) == ".\r\n" || string(chunk) == ".\n") {
			return buf.Bytes(), tooBig, nil
		}
		if atLineStart && len(chunk) > 0 && chunk[0] == '.' {
			chunk = chunk[1:]
		}
		atLineStart = complete
		if tooBig {
			continue
		}
		if int64(buf.Len()+len(chunk)) > ss.s.MaxMessageBytes {
			tooBig = true
			buf = bytes.Buffer{}
			continue
		}
		buf.Write(chunk)
	}
}

// auth accepts AUTH PLAIN and AUTH LOGIN with any credentials; see the
// package comment for why.
func (ss *session) auth(arg string) bool {
	if ss.helo == "" {
		ss.reply(503, "5.5.1 Send EHLO first")
		return false
	}
	if ss.inMail {
		ss.reply(503, "5.5.1 AUTH not allowed during a mail transaction")
		return false
	}
	mech, initial, _ := strings.Cut(arg, " ")
	// steps is how many base64 lines the client still has to send.
	steps := 0
	switch strings.ToUpper(mech) {
	case "PLAIN":
		if initial == "" {
			ss.reply(334, "")
			steps = 1
		}
	case "LOGIN":
		if initial != "" { // the username came with the command
			ss.reply(334, "UGFzc3dvcmQ6") // "Password:"
			steps = 1
		} else {
			ss.reply(334, "VXNlcm5hbWU6") // "Username:"
			steps = 2
		}
	default:
		ss.reply(504, "5.5.4 Unrecognized authentication type")
		return false
	}
	for ; steps > 0; steps-- {
		if err := ss.w.Flush(); err != nil {
			return true
		}
		line, err := ss.readCommand()
		if err != nil {
			return true
		}
		if line == "*" {
			ss.reply(501, "5.0.0 Authentication cancelled")
			return false
		}
		if steps == 2 {
			ss.reply(334, "UGFzc3dvcmQ6")
		}
	}
	ss.reply(235, "2.7.0 Authentication successful")
	return false
}

// store writes one message atomically and returns its file name.
func (s *Server) store(ss *session, body []byte) (string, error) {
	now := time.Now()
	name := fmt.Sprintf("%020d-%06d.eml", now.UnixNano(), s.seq.Add(1))
	var hdr bytes.Buffer
	fmt.Fprintf(&hdr, "X-Envelope-From: <%s>\r\n", ss.from)
	for _, r := range ss.rcpts {
		fmt.Fprintf(&hdr, "X-Envelope-To: <%s>\r\n", r)
	}
	ip := ss.c.RemoteAddr().String()
	if h, _, err := net.SplitHostPort(ip); err == nil {
		ip = h
	}
	fmt.Fprintf(&hdr, "Received: from %s ([%s])\r\n\tby %s with ESMTP id %s;\r\n\t%s\r\n",
		sanitize(ss.helo), ip, s.Hostname, strings.TrimSuffix(name, ".eml"), now.Format(time.RFC1123Z))

	tmp, err := os.CreateTemp(s.dir, ".incoming-*")
	if err != nil {
		return "", fmt.Errorf("smtp.store: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(hdr.Bytes()); err != nil {
		tmp.Close()
		return "", fmt.Errorf("smtp.store: %w", err)
	}
	if _, err := tmp.Write(body); err != nil {
		tmp.Close()
		return "", fmt.Errorf("smtp.store: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("smtp.store: %w", err)
	}
	// CreateTemp makes the file 0600; mail is for whoever runs the tests.
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return "", fmt.Errorf("smtp.store: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(s.dir, name)); err != nil {
		return "", fmt.Errorf("smtp.store: %w", err)
	}
	return name, nil
}

// sanitize keeps a client-supplied word from breaking the header it goes in.
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
}
