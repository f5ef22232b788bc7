// Package sms is the local stack's STAND-IN for Twilio's Programmable
// Messaging REST API (the Messages resource of api.twilio.com/2010-04-01),
// which has no emulator. It speaks the part Notify uses, in Twilio's own
// request and response shapes, and sends nothing: each accepted message is
// written to a directory, one JSON file per message (the way the SMTP sink
// keeps mails), so `make demo` and the tests read what a phone would get.
//
//	POST /2010-04-01/Accounts/{AccountSid}/Messages.json
//	     form To, From or MessagingServiceSid, Body; HTTP basic auth
//	     AccountSid:AuthToken -> 201 with the Message resource
//	GET  /2010-04-01/Accounts/{AccountSid}/Messages.json?To=&From=&PageSize=
//	     -> 200 {"messages": [...newest first], "page", "page_size", ...}
//
// Errors have Twilio's body {"code", "message", "more_info", "status"}:
// 401 (code 20003) for wrong credentials, 400 21211 for a To that is not
// E.164, 400 21602 without a Body, 400 21603 without a sender.
//
// Faults for drills, outside Twilio's API (under /_standin/, which Twilio
// does not have): POST /_standin/faults with JSON {"status": 429, "count": 2}
// answers the next two sends with that status (no message kept), and
// {"lose": 1} keeps the next message but closes the connection before
// answering, as a provider that accepted a message whose answer was lost.
// Files are named <unixnano>-<seq>.json and written to a dot-prefixed
// temporary file first, so a reader never sees half a message.
package sms

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Message is the stored and answered Message resource (Twilio's field names).
type Message struct {
	SID         string `json:"sid"`
	AccountSID  string `json:"account_sid"`
	To          string `json:"to"`
	From        string `json:"from"`
	Body        string `json:"body"`
	Status      string `json:"status"`
	NumSegments string `json:"num_segments"`
	Direction   string `json:"direction"`
	DateCreated string `json:"date_created"`
	URI         string `json:"uri"`
}

// Server is the stand-in. Create it with New.
type Server struct {
	dir        string
	accountSID string
	authToken  string
	log        *slog.Logger

	mu       sync.Mutex
	messages []Message // oldest first
	seq      int
	failWith int
	failN    int
	loseN    int
}

// e164 is the number format Twilio accepts for To.
var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// New loads the messages already in dir (created if missing), so a
// restarted stand-in still lists what it accepted before.
func New(dir, accountSID, authToken string, log *slog.Logger) (*Server, error) {
	if dir == "" || accountSID == "" || authToken == "" {
		return nil, errors.New("sms: dir, account SID and auth token are required")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("sms: %w", err)
	}
	s := &Server{dir: dir, accountSID: accountSID, authToken: authToken, log: log}
	msgs, err := Read(dir)
	if err != nil {
		return nil, err
	}
	s.messages = msgs
	return s, nil
}

// Read returns the messages stored in dir, oldest first.
func Read(dir string) ([]Message, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, fmt.Errorf("sms: %w", err)
	}
	slices.Sort(files)
	out := make([]Message, 0, len(files))
	for _, f := range files {
		if strings.HasPrefix(filepath.Base(f), ".") {
			continue // a message being written (renamed into place when whole)
		}
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("sms: %w", err)
		}
		var m Message
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("sms: %s: %w", f, err)
		}
		out = append(out, m)
	}
	return out, nil
}

// Handler serves the API.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /2010-04-01/Accounts/{sid}/Messages.json", s.create)
	mux.HandleFunc("GET /2010-04-01/Accounts/{sid}/Messages.json", s.list)
	mux.HandleFunc("POST /_standin/faults", s.faults)
	return mux
}

// ListenAndServe serves on addr until ctx ends.
func (s *Server) ListenAndServe(ctx context.Context, addr string) error {
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("sms: %w", err)
	}
	return s.Serve(ctx, ln)
}

// Serve serves on ln until ctx ends.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
	}()
	s.log.Info("SMS stand-in (Twilio Messages API) listening", "addr", ln.Addr().String(), "dir", s.dir)
	err := srv.Serve(ln)
	<-done
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

func writeError(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"code": code, "message": msg, "status": status,
		"more_info": "https://www.twilio.com/docs/errors/" + strconv.Itoa(code),
	})
}

func (s *Server) authorised(w http.ResponseWriter, r *http.Request) bool {
	user, pass, ok := r.BasicAuth()
	if !ok || user != s.accountSID || pass != s.authToken || r.PathValue("sid") != s.accountSID {
		writeError(w, http.StatusUnauthorized, 20003, "Authenticate")
		return false
	}
	return true
}

// readMessage reads and checks a Messages API form, answering Twilio's
// error for a bad one.
func readMessage(w http.ResponseWriter, r *http.Request) (to, from, body string, ok bool) {
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusBadRequest, 21601, "malformed form: "+err.Error())
		return "", "", "", false
	}
	to, body = r.PostForm.Get("To"), r.PostForm.Get("Body")
	from = r.PostForm.Get("From")
	if from == "" {
		from = r.PostForm.Get("MessagingServiceSid")
	}
	switch {
	case !e164.MatchString(to):
		writeError(w, http.StatusBadRequest, 21211, fmt.Sprintf("The 'To' number %s is not a valid phone number.", to))
		return "", "", "", false
	case body == "":
		writeError(w, http.StatusBadRequest, 21602, "Message body is required.")
		return "", "", "", false
	case from == "":
		writeError(w, http.StatusBadRequest, 21603, "The 'From' number is required.")
		return "", "", "", false
	}
	return to, from, body, true
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	if !s.authorised(w, r) {
		return
	}
	to, from, body, ok := readMessage(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	if s.failN > 0 {
		s.failN--
		status := s.failWith
		s.mu.Unlock()
		s.log.Info("stand-in fault: refusing a send", "status", status)
		if status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "1")
			writeError(w, status, 20429, "Too Many Requests")
		} else {
			writeError(w, status, 20500, "Internal Server Error")
		}
		return
	}
	lose := s.loseN > 0
	if lose {
		s.loseN--
	}
	m, err := s.store(to, from, body)
	s.mu.Unlock()
	if err != nil {
		s.log.Error("store message", "err", err)
		writeError(w, http.StatusInternalServerError, 20500, "Internal Server Error")
		return
	}
	s.log.Info("message accepted (not sent: stand-in)", "sid", m.SID, "segments", m.NumSegments)
	if lose {
		// The message is kept; the answer is lost on the way.
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(m)
}

// store writes m to the directory and the list; s.mu is held.
func (s *Server) store(to, from, body string) (Message, error) {
	s.seq++
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	sid := "SM" + hex.EncodeToString(id)
	now := time.Now().UTC()
	m := Message{
		SID: sid, AccountSID: s.accountSID, To: to, From: from, Body: body,
		Status: "queued", NumSegments: strconv.Itoa(Segments(body)), Direction: "outbound-api",
		DateCreated: now.Format(time.RFC1123Z),
		URI:         "/2010-04-01/Accounts/" + s.accountSID + "/Messages/" + sid + ".json",
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return Message{}, err
	}
	name := fmt.Sprintf("%020d-%06d.json", now.UnixNano(), s.seq)
	tmp := filepath.Join(s.dir, "."+name)
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return Message{}, err
	}
	if err := os.Rename(tmp, filepath.Join(s.dir, name)); err != nil {
		return Message{}, err
	}
	s.messages = append(s.messages, m)
	return m, nil
}

// Segments is how many SMS parts a body takes, each billed: 160 GSM-7
// characters, or 70 UCS-2 ones (Korean) once any character is outside
// GSM-7; a longer message is split into 153 or 67 per part.
func Segments(body string) int {
	n, gsm := 0, true
	for _, r := range body {
		n++
		if r > 0x7e || (r < 0x20 && r != '\n' && r != '\r') {
			gsm = false
		}
	}
	single, multi := 160, 153
	if !gsm {
		single, multi = 70, 67
	}
	if n <= single {
		return 1
	}
	return (n + multi - 1) / multi
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	if !s.authorised(w, r) {
		return
	}
	q := r.URL.Query()
	size := 50
	if v, err := strconv.Atoi(q.Get("PageSize")); err == nil && v > 0 && v <= 1000 {
		size = v
	}
	s.mu.Lock()
	var out []Message
	for i := len(s.messages) - 1; i >= 0 && len(out) < size; i-- {
		m := s.messages[i]
		if (q.Get("To") == "" || q.Get("To") == m.To) && (q.Get("From") == "" || q.Get("From") == m.From) {
			out = append(out, m)
		}
	}
	s.mu.Unlock()
	if out == nil {
		out = []Message{}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"messages": out, "page": 0, "page_size": size, "next_page_uri": nil,
		"uri": r.URL.RequestURI(),
	})
}

func (s *Server) faults(w http.ResponseWriter, r *http.Request) {
	var f struct {
		Status int `json:"status"`
		Count  int `json:"count"`
		Lose   int `json:"lose"`
	}
	if err := json.NewDecoder(r.Body).Decode(&f); err != nil || f.Count < 0 || f.Lose < 0 ||
		(f.Count > 0 && (f.Status < 400 || f.Status > 599)) {
		http.Error(w, `want {"status": 4xx|5xx, "count": n} or {"lose": n}`, http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.failWith, s.failN, s.loseN = f.Status, f.Count, f.Lose
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}
