package vertex_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/genai"

	standin "github.com/tigerstudio/studio/emulators/vertex"
	"github.com/tigerstudio/studio/worker/generate"
	"github.com/tigerstudio/studio/worker/generate/vertex"
	"github.com/tigerstudio/studio/worker/imaging"
)

// newStandIn serves the stack's stand-in in process: these tests are about
// the step and the SDK's wire format; the stack's own stand-in is used by
// the worker's end-to-end tests.
func newStandIn(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(standin.New(slog.New(slog.NewTextHandler(io.Discard, nil))).Handler())
	t.Cleanup(srv.Close)
	return srv.URL
}

func config(url string) vertex.Config {
	return vertex.Config{Project: "tiger-test", Location: "europe-west4", Model: "gemini-2.5-flash-image",
		StandInURL: url, MaxInFlight: 4, Timeout: 5 * time.Second}
}

func newClient(t *testing.T, cfg vertex.Config) *vertex.Client {
	t.Helper()
	c, err := vertex.NewClient(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// photo is a frame of w x h: a gradient with a face where detect-face
// would have put it.
func photo(w, h int) *generate.Frame {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetNRGBA(x, y, color.NRGBA{uint8(x * 255 / w), uint8(y * 255 / h), 140, 255})
		}
	}
	f := generate.NewFrame(img)
	f.Faces = []generate.Face{{Box: generate.Rect{X0: 30, Y0: 20, X1: 70, Y1: 70}, Score: 0.9}}
	f.Matte = make([]float32, w*h)
	return f
}

func step(t *testing.T, c *vertex.Client, params map[string]any) generate.Step {
	t.Helper()
	s, err := c.NewStep(params)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func control(t *testing.T, url string, rule standin.Rule) {
	t.Helper()
	body, _ := json.Marshal(rule)
	resp, err := http.Post(url+"/standin/next", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("stand-in rule %+v: %s", rule, resp.Status)
	}
}

func recorded(t *testing.T, url, key string) []standin.Recorded {
	t.Helper()
	resp, err := http.Get(url + "/standin/requests?key=" + key)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Requests []standin.Recorded }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out.Requests
}

// TestRequestShape records what the real SDK sends for a generate step and
// checks it against Vertex AI's REST shape: the publisher model's path in
// the project and location, one user turn with the framed photo inline and
// the prompt, and an image asked for in the frame's aspect.
func TestRequestShape(t *testing.T) {
	t.Parallel()
	url := newStandIn(t)
	c := newClient(t, config(url))
	prompt := "Repaint as an oil portrait; keep the person. standin-key=shape"
	tests := []struct {
		name, model, wantModel string
		w, h                   int
		wantAspect             string
	}{
		{"default model, 4:5", "", "gemini-2.5-flash-image", 160, 200, "4:5"},
		{"style's own model, square", "gemini-3-pro-image-preview", "gemini-3-pro-image-preview", 128, 128, "1:1"},
		{"odd shape keeps the input's", "", "gemini-2.5-flash-image", 130, 100, ""},
	}
	for i, tt := range tests {
		params := map[string]any{"prompt": prompt}
		if tt.model != "" {
			params["model"] = tt.model
		}
		f := photo(tt.w, tt.h)
		sent, err := imaging.EncodeJPEG(f.Image, 92)
		if err != nil {
			t.Fatal(err)
		}
		if err := step(t, c, params).Apply(t.Context(), f); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		reqs := recorded(t, url, "shape")
		if len(reqs) != i+1 {
			t.Fatalf("%s: %d requests recorded, want %d", tt.name, len(reqs), i+1)
		}
		r := reqs[i]
		wantPath := "/v1beta1/projects/tiger-test/locations/europe-west4/publishers/google/models/" + tt.wantModel + ":generateContent"
		if r.Path != wantPath {
			t.Errorf("%s: path %s, want %s", tt.name, r.Path, wantPath)
		}
		var body struct {
			Contents []struct {
				Role  string
				Parts []struct {
					Text       string
					InlineData *struct{ MimeType, Data string }
				}
			}
			GenerationConfig struct {
				ResponseModalities []string
				ImageConfig        *struct{ AspectRatio string }
			}
		}
		if err := json.Unmarshal(r.Body, &body); err != nil {
			t.Fatal(err)
		}
		if len(body.Contents) != 1 || body.Contents[0].Role != "user" || len(body.Contents[0].Parts) != 2 {
			t.Fatalf("%s: contents %s, want one user turn of two parts", tt.name, r.Body[:min(len(r.Body), 300)])
		}
		parts := body.Contents[0].Parts
		if parts[0].InlineData == nil || parts[0].InlineData.MimeType != "image/jpeg" {
			t.Errorf("%s: first part %+v, want the photo inline as image/jpeg", tt.name, parts[0])
		} else if data, _ := base64.StdEncoding.DecodeString(parts[0].InlineData.Data); !bytes.Equal(data, sent) {
			t.Errorf("%s: the inline photo is not the frame's image", tt.name)
		}
		if parts[1].Text != prompt {
			t.Errorf("%s: text part %q, want the prompt", tt.name, parts[1].Text)
		}
		gc := body.GenerationConfig
		if !strings.Contains(strings.Join(gc.ResponseModalities, ","), "IMAGE") {
			t.Errorf("%s: generationConfig %+v, want an image", tt.name, gc)
		}
		got := ""
		if gc.ImageConfig != nil {
			got = gc.ImageConfig.AspectRatio
		}
		if got != tt.wantAspect {
			t.Errorf("%s: aspect ratio %q, want %q", tt.name, got, tt.wantAspect)
		}
	}
}

// TestApplyPutsTheDrawingInTheFrame: the frame gets the stand-in's drawing
// (not the photo), at the size the crop chose; the faces stay and the
// photo's matte, which no longer fits, is gone.
func TestApplyPutsTheDrawingInTheFrame(t *testing.T) {
	t.Parallel()
	url := newStandIn(t)
	c := newClient(t, config(url))
	f := photo(160, 200)
	before := f.Image
	if err := step(t, c, map[string]any{"prompt": "anime standin-key=apply"}).Apply(t.Context(), f); err != nil {
		t.Fatal(err)
	}
	if w, h := f.Size(); w != 160 || h != 200 {
		t.Errorf("frame %dx%d after generate, want the crop's 160x200", w, h)
	}
	// The stand-in posterises: every channel lands near 0, 85, 170 or 255
	// blended with a tint, so the frame differs from the smooth gradient.
	same := 0
	for i := range before.Pix {
		if before.Pix[i] == f.Image.Pix[i] {
			same++
		}
	}
	if same > len(before.Pix)/2 {
		t.Errorf("%d of %d bytes unchanged: the frame still holds the photo", same, len(before.Pix))
	}
	if len(f.Faces) != 1 || f.Matte != nil {
		t.Errorf("faces %d, matte nil=%v: want the face kept and the matte dropped", len(f.Faces), f.Matte == nil)
	}
	// Deterministic: the same photo and prompt draw the same image.
	g := photo(160, 200)
	if err := step(t, c, map[string]any{"prompt": "anime standin-key=apply"}).Apply(t.Context(), g); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(f.Image.Pix, g.Image.Pix) {
		t.Error("the same photo and prompt drew different images")
	}
}

// TestFailures is the step's failure table: what each answer of the model
// becomes, for the worker to act on (final, transient, retried in the
// job's attempts).
func TestFailures(t *testing.T) {
	t.Parallel()
	url := newStandIn(t)
	cfg := config(url)
	cfg.Timeout = 300 * time.Millisecond
	c := newClient(t, cfg)
	tests := []struct {
		fail    string
		delayMs int
		want    error
		notWant []error
	}{
		{fail: standin.FailBlock, want: generate.ErrBlocked, notWant: []error{generate.ErrBusy, vertex.ErrNoImage}},
		{fail: standin.FailImageSafety, want: generate.ErrBlocked, notWant: []error{generate.ErrBusy, vertex.ErrNoImage}},
		{fail: standin.Fail429, want: generate.ErrBusy, notWant: []error{generate.ErrBlocked}},
		{fail: standin.Fail503, want: generate.ErrBusy, notWant: []error{generate.ErrBlocked}},
		{fail: standin.FailSlow, delayMs: 2000, want: generate.ErrBusy, notWant: []error{generate.ErrBlocked}},
		{fail: standin.FailNoImage, want: vertex.ErrNoImage, notWant: []error{generate.ErrBusy, generate.ErrBlocked, generate.ErrInvalidInput}},
		{fail: standin.FailBadImage, want: vertex.ErrNoImage, notWant: []error{generate.ErrBusy, generate.ErrBlocked, generate.ErrInvalidInput}},
	}
	for _, tt := range tests {
		t.Run(tt.fail, func(t *testing.T) {
			t.Parallel()
			key := "fail-" + tt.fail
			control(t, url, standin.Rule{Key: key, Fail: tt.fail, DelayMs: tt.delayMs})
			f := photo(96, 120)
			before := append([]uint8(nil), f.Image.Pix...)
			err := step(t, c, map[string]any{"prompt": "oil standin-key=" + key}).Apply(t.Context(), f)
			if !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
			for _, nw := range tt.notWant {
				if errors.Is(err, nw) {
					t.Errorf("error %v is also %v", err, nw)
				}
			}
			if !bytes.Equal(before, f.Image.Pix) || f.Matte == nil {
				t.Error("a failed call changed the frame")
			}
			// The rule was for one call: the next draws.
			if err := step(t, c, map[string]any{"prompt": "oil standin-key=" + key}).Apply(t.Context(), photo(96, 120)); err != nil {
				t.Errorf("the call after the injected %s: %v", tt.fail, err)
			}
		})
	}
}

// TestCancelled: a job stopped while its call waits (shutdown, a booth
// job's preemption) ends at once with its context's error, not as a busy
// model.
func TestCancelled(t *testing.T) {
	t.Parallel()
	url := newStandIn(t)
	c := newClient(t, config(url))
	control(t, url, standin.Rule{Key: "cancel", Fail: standin.FailSlow, DelayMs: 10_000})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- step(t, c, map[string]any{"prompt": "x standin-key=cancel"}).Apply(ctx, photo(64, 64))
	}()
	// Cancel once the call is at the stand-in.
	for len(recorded(t, url, "cancel")) == 0 {
		select {
		case err := <-done:
			t.Fatalf("the call ended before it was cancelled: %v", err)
		case <-time.After(5 * time.Millisecond):
		}
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) || errors.Is(err, generate.ErrBusy) {
			t.Errorf("error %v, want context.Canceled and not busy", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the step did not return after its context was cancelled")
	}
}

// countingModels wraps the SDK's models to see how many calls are open.
type countingModels struct {
	next          vertex.Models
	open, maxOpen atomic.Int32
}

func (m *countingModels) GenerateContent(ctx context.Context, model string, contents []*genai.Content, cfg *genai.GenerateContentConfig) (*genai.GenerateContentResponse, error) {
	n := m.open.Add(1)
	defer m.open.Add(-1)
	for {
		old := m.maxOpen.Load()
		if n <= old || m.maxOpen.CompareAndSwap(old, n) {
			break
		}
	}
	return m.next.GenerateContent(ctx, model, contents, cfg)
}

// TestInFlightCap: many jobs' generate steps at once never have more calls
// open than VERTEX_MAX_IN_FLIGHT, and all of them finish.
func TestInFlightCap(t *testing.T) {
	t.Parallel()
	url := newStandIn(t)
	cfg := config(url)
	sdk, err := genai.NewClient(t.Context(), &genai.ClientConfig{
		Backend: genai.BackendVertexAI, Project: cfg.Project, Location: cfg.Location,
		HTTPOptions: genai.HTTPOptions{BaseURL: url + "/"}, HTTPClient: http.DefaultClient,
	})
	if err != nil {
		t.Fatal(err)
	}
	const cap, jobs = 3, 12
	cfg.MaxInFlight = cap
	counter := &countingModels{next: sdk.Models}
	c := vertex.NewClientWith(counter, cfg)
	control(t, url, standin.Rule{Key: "cap", Fail: standin.FailSlow, DelayMs: 50, ForMs: 60_000})
	var wg sync.WaitGroup
	errs := make(chan error, jobs)
	for i := range jobs {
		wg.Go(func() {
			if err := step(t, c, map[string]any{"prompt": "x standin-key=cap"}).Apply(t.Context(), photo(64, 64)); err != nil {
				errs <- fmt.Errorf("job %d: %w", i, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := counter.maxOpen.Load(); got > cap || got < 2 {
		t.Errorf("at most %d calls open at once, want 2..%d", got, cap)
	}
	if n := len(recorded(t, url, "cap")); n != jobs {
		t.Errorf("%d calls reached the stand-in, want %d", n, jobs)
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	ok := config("http://127.0.0.1:9130")
	tests := []struct {
		name   string
		change func(*vertex.Config)
		want   string // "" valid
	}{
		{"valid stand-in", func(*vertex.Config) {}, ""},
		{"valid cloud", func(c *vertex.Config) { c.StandInURL = "" }, ""},
		{"no project", func(c *vertex.Config) { c.Project = "" }, "VERTEX_PROJECT"},
		{"no location", func(c *vertex.Config) { c.Location = "" }, "VERTEX_LOCATION"},
		{"no model", func(c *vertex.Config) { c.Model = "" }, "VERTEX_MODEL"},
		{"cap 0", func(c *vertex.Config) { c.MaxInFlight = 0 }, "VERTEX_MAX_IN_FLIGHT"},
		{"no timeout", func(c *vertex.Config) { c.Timeout = 0 }, "VERTEX_TIMEOUT"},
		{"stand-in not a URL", func(c *vertex.Config) { c.StandInURL = "127.0.0.1:9130" }, "VERTEX_STANDIN_URL"},
	}
	for _, tt := range tests {
		c := ok
		tt.change(&c)
		err := c.Validate()
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
	}
	if _, err := (&vertex.Client{}).NewStep(map[string]any{"prompt": " "}); err == nil {
		t.Error("a generate step without a prompt was accepted")
	}
	if _, err := (&vertex.Client{}).NewStep(map[string]any{"prompt": "x", "temperature": 1}); err == nil {
		t.Error("a generate step with an unknown parameter was accepted")
	}
}
