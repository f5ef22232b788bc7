// Package vertex is the local STAND-IN for Vertex AI's generateContent REST
// endpoint: Vertex AI has no emulator and cannot be reached from here. The
// worker's real Gen AI SDK talks to it through its base-URL option. It
// answers in the API's own JSON shape (candidates, content.parts[].inlineData,
// finishReason, promptFeedback.blockReason, usageMetadata) with a
// deterministic, visibly transformed copy of the input image: posterised,
// tinted by a hash of the prompt and marked "STAND-IN". No model draws it.
//
// Control API (for tests and for anyone trying the failure paths):
//
//	POST /standin/next     {"key": "K", "fail": "block", "count": 1, "forMs": 0, "delayMs": 0}
//	GET  /standin/requests?key=K   the generateContent requests seen with key K
//	GET  /standin/status   {"standIn": true, "calls": N, "rules": N}
//	DELETE /standin/rules?key=K    drop K's rules
//
// A rule applies to the next count calls (default 1), or to every call for
// forMs milliseconds, whose prompt carries the marker "standin-key=K"; a rule
// without a key applies to calls without a marker. So tests running in
// parallel against one stand-in never see each other's failures. fail is one
// of:
//
//	block        the prompt is blocked: promptFeedback.blockReason SAFETY, no candidates
//	image-safety the output is blocked: a candidate with finishReason IMAGE_SAFETY, no image
//	429          HTTP 429 RESOURCE_EXHAUSTED (quota)
//	503          HTTP 503 UNAVAILABLE (overload)
//	slow         answers normally after delayMs
//	noimage      a candidate with text only, finishReason STOP
//	badimage     inlineData that is not an image
//	ok           answers normally (with delayMs: a slow success)
//
// delayMs delays any rule's answer; a delayed answer ends early, as the real
// endpoint's does, when the caller gives up.
package vertex

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"image"
	"image/color"
	"image/draw"
	_ "image/jpeg" // inputs the SDK sends
	"image/png"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
	_ "golang.org/x/image/webp"

	"github.com/tigerstudio/studio/emulators/internal/googleapi"
)

// Mark is drawn on every image the stand-in returns.
const Mark = "STAND-IN"

// keyMarker finds a test's key in a prompt.
var keyMarker = regexp.MustCompile(`standin-key=([A-Za-z0-9_.-]+)`)

// Failure kinds a rule may name.
const (
	FailBlock       = "block"
	FailImageSafety = "image-safety"
	Fail429         = "429"
	Fail503         = "503"
	FailSlow        = "slow"
	FailNoImage     = "noimage"
	FailBadImage    = "badimage"
	FailOK          = "ok"
)

var failures = map[string]bool{FailBlock: true, FailImageSafety: true, Fail429: true, Fail503: true,
	FailSlow: true, FailNoImage: true, FailBadImage: true, FailOK: true}

// Rule is one POST /standin/next.
type Rule struct {
	Key     string `json:"key,omitempty"`
	Fail    string `json:"fail"`
	Count   int    `json:"count,omitempty"`
	ForMs   int    `json:"forMs,omitempty"`
	DelayMs int    `json:"delayMs,omitempty"`
	until   time.Time
}

// Recorded is one generateContent request as it arrived.
type Recorded struct {
	Path string          `json:"path"`
	Body json.RawMessage `json:"body"`
	// Answer is what the stand-in did: "image" or the rule's fail.
	Answer string `json:"answer"`
}

// maxRecorded bounds what is kept per key, so a long-running stack does
// not grow without end.
const maxRecorded = 1000

// Server is the stand-in. The zero value is not usable; call New.
type Server struct {
	log *slog.Logger
	now func() time.Time

	mu       sync.Mutex
	rules    []*Rule
	recorded map[string][]Recorded
	calls    int
}

// New makes a stand-in that logs to log.
func New(log *slog.Logger) *Server {
	return &Server{log: log, now: time.Now, recorded: make(map[string][]Recorded)}
}

// Handler serves the REST endpoint and the control API.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /standin/next", s.next)
	mux.HandleFunc("GET /standin/requests", s.requests)
	mux.HandleFunc("DELETE /standin/rules", s.dropRules)
	mux.HandleFunc("GET /standin/status", s.status)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok (Vertex AI stand-in)\n")) })
	// projects/P/locations/L/publishers/google/models/M:generateContent,
	// under the API version the SDK chose.
	mux.HandleFunc("POST /", s.generate)
	return mux
}

func (s *Server) next(w http.ResponseWriter, r *http.Request) {
	var rule Rule
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rule); err != nil {
		http.Error(w, "stand-in: bad rule: "+err.Error(), http.StatusBadRequest)
		return
	}
	if !failures[rule.Fail] {
		http.Error(w, fmt.Sprintf("stand-in: fail %q: want block, image-safety, 429, 503, slow, noimage, badimage or ok", rule.Fail), http.StatusBadRequest)
		return
	}
	if rule.Count < 0 || rule.ForMs < 0 || rule.DelayMs < 0 || rule.DelayMs > 600_000 {
		http.Error(w, "stand-in: count, forMs and delayMs must not be negative (delayMs at most 600000)", http.StatusBadRequest)
		return
	}
	if rule.Count > 0 && rule.ForMs > 0 {
		http.Error(w, "stand-in: give count or forMs, not both", http.StatusBadRequest)
		return
	}
	if rule.ForMs > 0 {
		rule.until = s.now().Add(time.Duration(rule.ForMs) * time.Millisecond)
	} else if rule.Count == 0 {
		rule.Count = 1
	}
	s.mu.Lock()
	s.rules = append(s.rules, &rule)
	s.mu.Unlock()
	s.log.Info("stand-in rule added", "key", rule.Key, "fail", rule.Fail, "count", rule.Count, "forMs", rule.ForMs, "delayMs", rule.DelayMs)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) requests(w http.ResponseWriter, r *http.Request) {
	key := r.URL.Query().Get("key")
	s.mu.Lock()
	out := append([]Recorded{}, s.recorded[key]...)
	s.mu.Unlock()
	googleapi.WriteJSON(w, http.StatusOK, map[string]any{"requests": out})
}

func (s *Server) dropRules(w http.ResponseWriter, r *http.Request) {
	key := r.URL.Query().Get("key")
	s.mu.Lock()
	kept := s.rules[:0]
	for _, rl := range s.rules {
		if rl.Key != key {
			kept = append(kept, rl)
		}
	}
	s.rules = kept
	delete(s.recorded, key)
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) status(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	googleapi.WriteJSON(w, http.StatusOK, map[string]any{"standIn": true, "what": "Vertex AI generateContent stand-in: no model draws here", "calls": s.calls, "rules": len(s.rules)})
}

// take finds the rule for a call with key, using one of its counts.
func (s *Server) take(key string) (fail string, delay time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	kept := s.rules[:0]
	var hit *Rule
	for _, rl := range s.rules {
		expired := !rl.until.IsZero() && now.After(rl.until)
		if expired {
			continue
		}
		if hit == nil && rl.Key == key {
			hit = rl
			if rl.until.IsZero() {
				rl.Count--
				if rl.Count == 0 {
					continue
				}
			}
		}
		kept = append(kept, rl)
	}
	s.rules = kept
	if hit == nil {
		return FailOK, 0
	}
	return hit.Fail, time.Duration(hit.DelayMs) * time.Millisecond
}

// The REST shapes, as Vertex AI writes them.
type (
	blob struct {
		MIMEType string `json:"mimeType"`
		Data     string `json:"data"`
	}
	part struct {
		Text       string `json:"text,omitempty"`
		InlineData *blob  `json:"inlineData,omitempty"`
	}
	content struct {
		Role  string `json:"role,omitempty"`
		Parts []part `json:"parts"`
	}
	request struct {
		Contents []content `json:"contents"`
	}
	candidate struct {
		Content      *content `json:"content,omitempty"`
		FinishReason string   `json:"finishReason"`
		Index        int      `json:"index"`
	}
	promptFeedback struct {
		BlockReason        string `json:"blockReason"`
		BlockReasonMessage string `json:"blockReasonMessage,omitempty"`
	}
	usage struct {
		PromptTokenCount     int `json:"promptTokenCount"`
		CandidatesTokenCount int `json:"candidatesTokenCount"`
		TotalTokenCount      int `json:"totalTokenCount"`
	}
	response struct {
		Candidates     []candidate     `json:"candidates,omitempty"`
		PromptFeedback *promptFeedback `json:"promptFeedback,omitempty"`
		UsageMetadata  usage           `json:"usageMetadata"`
		ModelVersion   string          `json:"modelVersion"`
		ResponseID     string          `json:"responseId"`
	}
)

func (s *Server) generate(w http.ResponseWriter, r *http.Request) {
	c, ok := readCall(w, r)
	if !ok {
		return
	}
	fail, delay := s.take(c.key)
	s.record(c.key, Recorded{Path: r.URL.Path, Body: c.body, Answer: answerName(fail)})
	log := s.log.With("model", c.model, "key", c.key, "answer", answerName(fail))
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			log.Info("stand-in: caller gave up while it waited")
			return
		}
	}
	log.Info("stand-in answered generateContent (no model drew this)")
	s.answer(w, fail, c)
}

// genCall is a generateContent request as the stand-in reads it.
type genCall struct {
	model, prompt, key string
	body               []byte
	img                image.Image
}

// readCall reads and checks a generateContent request; it answers the
// errors itself.
func readCall(w http.ResponseWriter, r *http.Request) (genCall, bool) {
	model, ok := modelOf(r.URL.Path)
	if !ok {
		googleapi.Error(w, http.StatusNotFound, "NOT_FOUND", "stand-in: only POST .../publishers/google/models/MODEL:generateContent is served, not "+r.URL.Path)
		return genCall{}, false
	}
	body, err := readAll(w, r)
	if err != nil {
		googleapi.Error(w, http.StatusRequestEntityTooLarge, "INVALID_ARGUMENT", "stand-in: "+err.Error())
		return genCall{}, false
	}
	var req request
	if err := json.Unmarshal(body, &req); err != nil {
		googleapi.Error(w, http.StatusBadRequest, "INVALID_ARGUMENT", "stand-in: request is not JSON: "+err.Error())
		return genCall{}, false
	}
	prompt, img, err := promptAndImage(req)
	if err != nil {
		googleapi.Error(w, http.StatusBadRequest, "INVALID_ARGUMENT", "stand-in: "+err.Error())
		return genCall{}, false
	}
	c := genCall{model: model, prompt: prompt, body: body, img: img}
	if m := keyMarker.FindStringSubmatch(prompt); m != nil {
		c.key = m[1]
	}
	return c, true
}

// answer writes the answer the test asked for (fail), in Vertex AI's shape.
func (s *Server) answer(w http.ResponseWriter, fail string, c genCall) {
	resp := response{ModelVersion: c.model + " (stand-in)", ResponseID: fmt.Sprintf("standin-%d", s.callNumber()),
		UsageMetadata: usage{PromptTokenCount: 258 + len(c.prompt)/4, CandidatesTokenCount: 1290, TotalTokenCount: 1548 + len(c.prompt)/4}}
	switch fail {
	case Fail429:
		googleapi.Error(w, http.StatusTooManyRequests, "RESOURCE_EXHAUSTED", "stand-in: Resource exhausted. Please try again later.")
		return
	case Fail503:
		googleapi.Error(w, http.StatusServiceUnavailable, "UNAVAILABLE", "stand-in: The service is currently unavailable.")
		return
	case FailBlock:
		resp.Candidates = nil
		resp.PromptFeedback = &promptFeedback{BlockReason: "SAFETY", BlockReasonMessage: "stand-in: the prompt was blocked for safety"}
		resp.UsageMetadata.CandidatesTokenCount, resp.UsageMetadata.TotalTokenCount = 0, resp.UsageMetadata.PromptTokenCount
	case FailImageSafety:
		resp.Candidates = []candidate{{FinishReason: "IMAGE_SAFETY"}}
	case FailNoImage:
		resp.Candidates = []candidate{{Content: &content{Role: "model", Parts: []part{{Text: "I can describe the photo, but here is no image. (stand-in)"}}}, FinishReason: "STOP"}}
	case FailBadImage:
		resp.Candidates = []candidate{{Content: &content{Role: "model", Parts: []part{{InlineData: &blob{MIMEType: "image/png", Data: base64.StdEncoding.EncodeToString([]byte("not a png (stand-in)"))}}}}, FinishReason: "STOP"}}
	default: // ok, slow
		out, err := Draw(c.img, c.prompt)
		if err != nil {
			googleapi.Error(w, http.StatusInternalServerError, "INTERNAL", "stand-in: "+err.Error())
			return
		}
		resp.Candidates = []candidate{{Content: &content{Role: "model", Parts: []part{
			{Text: "Here is the portrait. (Drawn by the local Vertex AI stand-in, not a model.)"},
			{InlineData: &blob{MIMEType: "image/png", Data: base64.StdEncoding.EncodeToString(out)}},
		}}, FinishReason: "STOP"}}
	}
	googleapi.WriteJSON(w, http.StatusOK, resp)
}

func answerName(fail string) string {
	if fail == FailOK || fail == FailSlow {
		return "image"
	}
	return fail
}

func (s *Server) callNumber() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	return s.calls
}

func (s *Server) record(key string, rec Recorded) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.recorded[key]
	if len(rs) >= maxRecorded {
		rs = rs[1:]
	}
	s.recorded[key] = append(rs, rec)
}

// modelOf reads the model from .../models/MODEL:generateContent.
func modelOf(path string) (string, bool) {
	rest, ok := strings.CutSuffix(path, ":generateContent")
	if !ok {
		return "", false
	}
	i := strings.LastIndex(rest, "/models/")
	if i < 0 || !strings.Contains(rest[:i], "/publishers/") {
		return "", false
	}
	return rest[i+len("/models/"):], true
}

// maxRequestBytes is well above a 1024-pixel photo in base64.
const maxRequestBytes = 20 << 20

func readAll(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, maxRequestBytes)); err != nil {
		return nil, fmt.Errorf("read request: %w", err)
	}
	return buf.Bytes(), nil
}

// promptAndImage finds the user turn's text and its one image.
func promptAndImage(req request) (string, image.Image, error) {
	var texts []string
	var img image.Image
	for _, c := range req.Contents {
		if c.Role != "user" {
			continue
		}
		for _, p := range c.Parts {
			if p.Text != "" {
				texts = append(texts, p.Text)
			}
			if p.InlineData != nil {
				data, err := base64.StdEncoding.DecodeString(p.InlineData.Data)
				if err != nil {
					return "", nil, fmt.Errorf("inlineData.data is not base64: %w", err)
				}
				if img, _, err = image.Decode(bytes.NewReader(data)); err != nil {
					return "", nil, fmt.Errorf("inlineData (%s) does not decode: %w", p.InlineData.MIMEType, err)
				}
			}
		}
	}
	if img == nil {
		return "", nil, errors.New("no image in the user turn: this stand-in only edits images")
	}
	if len(texts) == 0 {
		return "", nil, errors.New("no prompt text in the user turn")
	}
	return strings.Join(texts, "\n"), img, nil
}

// Draw is the stand-in's "generation": the input posterised to four levels
// a channel, tinted by a colour from the prompt's hash, with Mark in the
// corner. The same input and prompt always give the same PNG.
func Draw(in image.Image, prompt string) ([]byte, error) {
	b := in.Bounds()
	out := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(out, out.Rect, in, b.Min, draw.Src)
	h := fnv.New32a()
	_, _ = h.Write([]byte(prompt))
	sum := h.Sum32()
	tint := [3]int{int(sum>>16) & 0xff, int(sum>>8) & 0xff, int(sum) & 0xff}
	for i := 0; i < len(out.Pix); i += 4 {
		for c := range 3 {
			v := int(out.Pix[i+c])
			v = (v / 64) * 85 // 0, 85, 170, 255
			out.Pix[i+c] = uint8((v*65 + tint[c]*35) / 100)
		}
		out.Pix[i+3] = 255
	}
	mark(out)
	var buf bytes.Buffer
	if err := png.Encode(&buf, out); err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	return buf.Bytes(), nil
}

// mark writes Mark on a dark band in the bottom-left corner.
func mark(img *image.NRGBA) {
	face := basicfont.Face7x13
	w := font.MeasureString(face, Mark).Ceil() + 8
	hgt := 17
	r := image.Rect(0, img.Rect.Dy()-hgt, min(w, img.Rect.Dx()), img.Rect.Dy())
	draw.Draw(img, r, image.NewUniform(color.NRGBA{20, 20, 20, 255}), image.Point{}, draw.Src)
	d := font.Drawer{Dst: img, Src: image.NewUniform(color.NRGBA{255, 220, 0, 255}), Face: face,
		Dot: fixed.P(4, img.Rect.Dy()-4)}
	d.DrawString(Mark)
}
