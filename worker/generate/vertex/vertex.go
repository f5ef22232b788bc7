// Package vertex is the generate step: it sends the frame's photo, as the
// face gate and crop left it, with the style's prompt to an image-editing
// model on Vertex AI through Google's Gen AI SDK, and puts the image the
// model drew into the frame.
//
// In the cloud the SDK authenticates with Application Default Credentials
// (the worker's service account); no API key is ever used. Locally the SDK
// reaches the stack's stand-in (emulators/vertex) through its base-URL
// option, with a fixed token the stand-in ignores.
//
// The step never touches the GPU: it waits on the network, capped in calls
// in flight per process so a backlog cannot hammer the project's quota.
package vertex

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"
	"net"
	"net/url"
	"strings"
	"time"

	"cloud.google.com/go/auth"
	"google.golang.org/genai"

	"github.com/tigerstudio/studio/infra/logging"
	"github.com/tigerstudio/studio/worker/generate"
	"github.com/tigerstudio/studio/worker/imaging"
)

// Config is the worker's Vertex AI configuration (see worker.Config).
type Config struct {
	Project  string
	Location string
	// Model is the default model; a step may name its own.
	Model string
	// StandInURL is the local stand-in's base URL. Empty in the cloud,
	// where the SDK picks the location's endpoint and ADC.
	StandInURL string
	// MaxInFlight caps the calls this process has open at once.
	MaxInFlight int
	// Timeout bounds one call; past it the call counts as the model being
	// busy (transient).
	Timeout time.Duration
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	var errs []error
	if c.Project == "" {
		errs = append(errs, errors.New("VERTEX_PROJECT (or GCLOUD_PROJECT) is required for generated styles"))
	}
	if c.Location == "" {
		errs = append(errs, errors.New("VERTEX_LOCATION is required"))
	}
	if c.Model == "" {
		errs = append(errs, errors.New("VERTEX_MODEL is required"))
	}
	if c.MaxInFlight < 1 || c.MaxInFlight > 1024 {
		errs = append(errs, fmt.Errorf("VERTEX_MAX_IN_FLIGHT=%d must be within 1..1024", c.MaxInFlight))
	}
	if c.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("VERTEX_TIMEOUT=%s must be positive", c.Timeout))
	}
	if c.StandInURL != "" {
		u, err := url.Parse(c.StandInURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("VERTEX_STANDIN_URL=%q: want an http(s) URL", c.StandInURL))
		}
	}
	return errors.Join(errs...)
}

// Models is the part of the SDK the step calls (genai.Client.Models).
type Models interface {
	GenerateContent(ctx context.Context, model string, contents []*genai.Content, config *genai.GenerateContentConfig) (*genai.GenerateContentResponse, error)
}

// Client is one process's connection to the model: made once, shared by
// every generate step and job.
type Client struct {
	models   Models
	model    string
	timeout  time.Duration
	inFlight chan struct{}
	standIn  bool
}

// NewClient makes the SDK's client for cfg.
func NewClient(ctx context.Context, cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("vertex.NewClient: %w", err)
	}
	cc := &genai.ClientConfig{Backend: genai.BackendVertexAI, Project: cfg.Project, Location: cfg.Location}
	if cfg.StandInURL != "" {
		// The stand-in keeps the real request path (project, location,
		// publisher, model), so what is checked locally is what the cloud
		// gets. Its token is a fixed string: ADC is not looked up, so no
		// developer's own credentials ever reach it.
		cc.HTTPOptions.BaseURL = strings.TrimSuffix(cfg.StandInURL, "/") + "/"
		cc.Credentials = auth.NewCredentials(&auth.CredentialsOptions{TokenProvider: standInToken{}})
	}
	gc, err := genai.NewClient(ctx, cc)
	if err != nil {
		return nil, fmt.Errorf("vertex.NewClient: %w", err)
	}
	return NewClientWith(gc.Models, cfg), nil
}

// NewClientWith uses models (the SDK's, or one wrapping it) with cfg's
// model, cap and timeout.
func NewClientWith(models Models, cfg Config) *Client {
	return &Client{
		models: models, model: cfg.Model, timeout: cfg.Timeout,
		inFlight: make(chan struct{}, max(cfg.MaxInFlight, 1)), standIn: cfg.StandInURL != "",
	}
}

// standInToken is the stand-in's credential: a fixed bearer token.
type standInToken struct{}

func (standInToken) Token(context.Context) (*auth.Token, error) {
	return &auth.Token{Value: "local-stand-in", Type: "Bearer"}, nil
}

// Params are a generate step's catalogue parameters:
// {"step": "generate", "prompt": "...", "model": "optional override"}.
type Params struct {
	Prompt string `json:"prompt"`
	Model  string `json:"model,omitempty"`
}

// NewStep builds a generate step from its catalogue parameters.
func (c *Client) NewStep(params map[string]any) (generate.Step, error) {
	var p Params
	if err := generate.DecodeParams(params, &p); err != nil {
		return nil, err
	}
	if strings.TrimSpace(p.Prompt) == "" {
		return nil, errors.New(`generate needs a "prompt"`)
	}
	model := p.Model
	if model == "" {
		model = c.model
	}
	return &Step{c: c, prompt: p.Prompt, model: model}, nil
}

// Step is one style's generate step.
type Step struct {
	c      *Client
	prompt string
	model  string
}

// Model is the model the step calls.
func (s *Step) Model() string { return s.model }

// ErrNoImage is the model answering without a usable image. It is not
// final (a model may draw on the next try), so the worker retries it
// within the job's attempts.
var ErrNoImage = errors.New("the model answered without an image")

// Apply sends the frame's image and the prompt, and replaces the image with
// the model's. The frame keeps its size, so the output's size is still the
// one the crop step chose; faces stay where they were (the prompt asks the
// model to keep the person and the pose); the matte of the photo no longer
// fits what the model drew and is dropped (a later step that needs one
// runs matte again).
func (s *Step) Apply(ctx context.Context, f *generate.Frame) error {
	w, h := f.Size()
	photo, err := imaging.EncodeJPEG(f.Image, 92)
	if err != nil {
		return fmt.Errorf("vertex: %w", err)
	}
	contents := []*genai.Content{{
		Role: genai.RoleUser,
		Parts: []*genai.Part{
			{InlineData: &genai.Blob{MIMEType: "image/jpeg", Data: photo}},
			{Text: s.prompt},
		},
	}}
	// One candidate is the default; the image models refuse some other
	// settings, so only what the edit needs is sent.
	cfg := &genai.GenerateContentConfig{ResponseModalities: []string{"TEXT", "IMAGE"}}
	if ar := aspectRatio(w, h); ar != "" {
		cfg.ImageConfig = &genai.ImageConfig{AspectRatio: ar}
	}
	resp, err := s.call(ctx, contents, cfg)
	if err != nil {
		return err
	}
	drawn, err := s.image(resp)
	if err != nil {
		return err
	}
	g := generate.NewFrame(drawn)
	if err := g.Transform(cover(g, w, h), w, h); err != nil {
		return fmt.Errorf("vertex: fit the model's image: %w", err)
	}
	f.Image = g.Image
	f.Matte = nil
	return nil
}

// call waits for a place among the calls in flight, then calls the model
// with the step's deadline, sorting its errors into transient (ErrBusy)
// and the rest.
func (s *Step) call(ctx context.Context, contents []*genai.Content, cfg *genai.GenerateContentConfig) (*genai.GenerateContentResponse, error) {
	log := logging.FromContext(ctx)
	waitStart := time.Now()
	select {
	case s.c.inFlight <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-s.c.inFlight }()
	callCtx, cancel := context.WithTimeout(ctx, s.c.timeout)
	defer cancel()
	start := time.Now()
	resp, err := s.c.models.GenerateContent(callCtx, s.model, contents, cfg)
	attrs := []any{"model", s.model, "standIn", s.c.standIn, "waitMs", start.Sub(waitStart).Milliseconds(), "callMs", time.Since(start).Milliseconds()}
	if err == nil {
		if u := resp.UsageMetadata; u != nil {
			attrs = append(attrs, "tokens", u.TotalTokenCount)
		}
		log.Info("vertex generateContent answered", attrs...)
		return resp, nil
	}
	if ctx.Err() != nil {
		return nil, ctx.Err() // the job was stopped, not the model
	}
	if busy(err) {
		log.Warn("vertex generateContent refused for now; the job is retried later", append(attrs, "err", err)...)
		return nil, fmt.Errorf("%w: vertex %s: %w", generate.ErrBusy, s.model, err)
	}
	return nil, fmt.Errorf("vertex %s: %w", s.model, err)
}

// busy reports whether err is one that passes: quota (429), overload or a
// server fault (5xx), or the call's own deadline.
func busy(err error) bool {
	var apiErr genai.APIError
	var apiErrPtr *genai.APIError
	code := 0
	switch {
	case errors.As(err, &apiErr):
		code = apiErr.Code
	case errors.As(err, &apiErrPtr):
		code = apiErrPtr.Code
	}
	switch code {
	case 408, 429, 500, 502, 503, 504:
		return true
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// blockedFinish are the finish reasons of a candidate the model refused to
// draw for safety, policy or recitation: the same photo and prompt would be
// refused again.
var blockedFinish = map[genai.FinishReason]bool{
	genai.FinishReasonSafety: true, genai.FinishReasonProhibitedContent: true,
	genai.FinishReasonBlocklist: true, genai.FinishReasonSPII: true,
	genai.FinishReasonImageSafety: true, genai.FinishReasonImageProhibitedContent: true,
	genai.FinishReasonRecitation: true, genai.FinishReasonImageRecitation: true,
	genai.FinishReasonModelArmor: true,
}

// image reads the drawn image from the response, or says why there is none.
func (s *Step) image(resp *genai.GenerateContentResponse) (image.Image, error) {
	if pf := resp.PromptFeedback; pf != nil && pf.BlockReason != "" && pf.BlockReason != genai.BlockedReasonUnspecified {
		return nil, fmt.Errorf("%w: vertex %s blocked the prompt: %s %s", generate.ErrBlocked, s.model, pf.BlockReason, pf.BlockReasonMessage)
	}
	if len(resp.Candidates) == 0 || resp.Candidates[0] == nil {
		return nil, fmt.Errorf("vertex %s: %w (no candidate)", s.model, ErrNoImage)
	}
	c := resp.Candidates[0]
	if c.Content != nil {
		for _, p := range c.Content.Parts {
			if p == nil || p.InlineData == nil || !strings.HasPrefix(p.InlineData.MIMEType, "image/") {
				continue
			}
			img, err := imaging.Decode(p.InlineData.Data)
			if err != nil {
				return nil, fmt.Errorf("vertex %s: the model's %s does not decode: %w", s.model, p.InlineData.MIMEType, errors.Join(ErrNoImage, err))
			}
			return img, nil
		}
	}
	if blockedFinish[c.FinishReason] {
		return nil, fmt.Errorf("%w: vertex %s refused to draw it: %s %s", generate.ErrBlocked, s.model, c.FinishReason, c.FinishMessage)
	}
	return nil, fmt.Errorf("vertex %s: %w (finish reason %s)", s.model, ErrNoImage, c.FinishReason)
}

// aspectRatio names the frame's shape among those the image models draw,
// or "" when it is none of them (the model then keeps the input's).
func aspectRatio(w, h int) string {
	for _, r := range []struct {
		name string
		w, h float64
	}{{"1:1", 1, 1}, {"4:5", 4, 5}, {"5:4", 5, 4}, {"3:4", 3, 4}, {"4:3", 4, 3}, {"2:3", 2, 3}, {"3:2", 3, 2}, {"9:16", 9, 16}, {"16:9", 16, 9}} {
		if math.Abs(float64(w)/float64(h)-r.w/r.h) < 0.01 {
			return r.name
		}
	}
	return ""
}

// cover is the centred part of g's image with the aspect of w x h.
func cover(g *generate.Frame, w, h int) generate.Rect {
	gw, gh := g.Size()
	sw, sh := float64(gw), float64(gh)
	if sw/sh > float64(w)/float64(h) {
		sw = sh * float64(w) / float64(h)
	} else {
		sh = sw * float64(h) / float64(w)
	}
	x0, y0 := (float64(gw)-sw)/2, (float64(gh)-sh)/2
	return generate.Rect{X0: x0, Y0: y0, X1: x0 + sw, Y1: y0 + sh}
}
