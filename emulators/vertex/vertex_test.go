package vertex

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func newServer(t *testing.T) (*Server, string) {
	t.Helper()
	s := New(slog.New(slog.NewTextHandler(io.Discard, nil)))
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return s, srv.URL
}

func pngOf(t *testing.T, w, h int) string {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetNRGBA(x, y, color.NRGBA{uint8(x), uint8(y), 128, 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

const path = "/v1beta1/projects/p/locations/global/publishers/google/models/gemini-2.5-flash-image:generateContent"

// call posts a request in the REST shape and returns the status and body.
func call(t *testing.T, url, prompt, img string) (int, response) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"contents": []any{map[string]any{"role": "user", "parts": []any{
		map[string]any{"inlineData": map[string]any{"mimeType": "image/png", "data": img}},
		map[string]any{"text": prompt},
	}}}})
	resp, err := http.Post(url+path, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out response
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func next(t *testing.T, url, rule string) int {
	t.Helper()
	resp, err := http.Post(url+"/standin/next", "application/json", strings.NewReader(rule))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// answer names what a call got: "image", the HTTP status, or the refusal.
func answer(code int, r response) string {
	switch {
	case code != http.StatusOK:
		return http.StatusText(code)
	case r.PromptFeedback != nil:
		return "blocked"
	case len(r.Candidates) == 1 && r.Candidates[0].Content != nil:
		for _, p := range r.Candidates[0].Content.Parts {
			if p.InlineData != nil {
				return "image"
			}
		}
	}
	return "other"
}

// TestRulesAreScoped: a rule meets only calls with its key (or, without a
// key, calls without a marker), as many as its count, so parallel tests
// sharing the stack's stand-in never see each other's failures.
func TestRulesAreScoped(t *testing.T) {
	_, url := newServer(t)
	img := pngOf(t, 32, 32)
	if c := next(t, url, `{"key":"a","fail":"429","count":2}`); c != http.StatusNoContent {
		t.Fatalf("rule: %d", c)
	}
	if c := next(t, url, `{"fail":"block"}`); c != http.StatusNoContent {
		t.Fatalf("rule: %d", c)
	}
	steps := []struct{ prompt, want string }{
		{"x standin-key=b", "image"},
		{"x standin-key=a", "Too Many Requests"},
		{"x", "blocked"},
		{"x", "image"},
		{"x standin-key=a", "Too Many Requests"},
		{"x standin-key=a", "image"},
	}
	for i, s := range steps {
		if got := answer(call(t, url, s.prompt, img)); got != s.want {
			t.Errorf("call %d (%q): %s, want %s", i, s.prompt, got, s.want)
		}
	}
}

func TestRuleWindow(t *testing.T) {
	s, url := newServer(t)
	now := time.Now()
	s.now = func() time.Time { return now }
	next(t, url, `{"key":"w","fail":"503","forMs":1000}`)
	img := pngOf(t, 16, 16)
	for range 3 {
		if got := answer(call(t, url, "standin-key=w", img)); got != "Service Unavailable" {
			t.Errorf("inside the window: %s", got)
		}
	}
	now = now.Add(1001 * time.Millisecond)
	if got := answer(call(t, url, "standin-key=w", img)); got != "image" {
		t.Errorf("after the window: %s", got)
	}
}

func TestBadRules(t *testing.T) {
	_, url := newServer(t)
	for _, rule := range []string{`{"fail":"explode"}`, `{"fail":"429","count":-1}`, `{"fail":"429","count":1,"forMs":5}`, `{"fail":"429","colour":"red"}`, `not json`} {
		if c := next(t, url, rule); c != http.StatusBadRequest {
			t.Errorf("rule %s: %d, want 400", rule, c)
		}
	}
}

// TestDraw: the stand-in's drawing is the input's size, differs from it,
// depends on the prompt, is the same for the same input, and carries the
// stand-in's mark (its dark band in the corner).
func TestDraw(t *testing.T) {
	in := image.NewNRGBA(image.Rect(0, 0, 120, 90))
	for i := range in.Pix {
		in.Pix[i] = uint8(i * 7)
	}
	a, err := Draw(in, "anime")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Draw(in, "anime")
	c, _ := Draw(in, "oil")
	if !bytes.Equal(a, b) || bytes.Equal(a, c) {
		t.Error("the drawing is not determined by the input and the prompt")
	}
	img, err := png.Decode(bytes.NewReader(a))
	if err != nil {
		t.Fatal(err)
	}
	if img.Bounds().Dx() != 120 || img.Bounds().Dy() != 90 {
		t.Errorf("drawing %v, want the input's 120x90", img.Bounds())
	}
	if r, g, bl, _ := img.At(1, 88).RGBA(); r>>8 != 20 || g>>8 != 20 || bl>>8 != 20 {
		t.Errorf("no mark band in the corner: %d,%d,%d", r>>8, g>>8, bl>>8)
	}
	same := 0
	for y := range 70 {
		for x := range 120 {
			r1, g1, b1, _ := img.At(x, y).RGBA()
			r2, g2, b2, _ := in.At(x, y).RGBA()
			if r1 == r2 && g1 == g2 && b1 == b2 {
				same++
			}
		}
	}
	if same > 120*70/10 {
		t.Errorf("%d of %d pixels kept from the input", same, 120*70)
	}
}

func TestNotGenerateContent(t *testing.T) {
	_, url := newServer(t)
	resp, err := http.Post(url+"/v1beta1/projects/p/locations/l/publishers/google/models/m:predict", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("predict: %d, want 404", resp.StatusCode)
	}
	if code, _ := call(t, url, "no image", ""); code != http.StatusBadRequest {
		t.Errorf("a request without an image: %d, want 400", code)
	}
}
