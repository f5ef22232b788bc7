// Package gateway is the public HTTP API of DESIGN.md: it authenticates the
// caller, validates uploads, stores the input and the request document,
// enqueues the job with a broker confirm and serves job status.
package gateway

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tigerstudio/studio/functions/gateway/api"
	"github.com/tigerstudio/studio/functions/gateway/upload"
	"github.com/tigerstudio/studio/infra/auth"
	"github.com/tigerstudio/studio/infra/blob"
	"github.com/tigerstudio/studio/infra/jobs"
	"github.com/tigerstudio/studio/infra/logging"
	"github.com/tigerstudio/studio/infra/store"
	"github.com/tigerstudio/studio/infra/styles"
)

// Verifier checks a Firebase ID token.
type Verifier interface {
	Verify(ctx context.Context, idToken string) (auth.User, error)
	// StillGuest asks the account, not a token, whether uid is a guest.
	StillGuest(ctx context.Context, uid string) (bool, error)
}

// Publisher enqueues a job and returns once the broker confirmed it; Signal
// tells busy workers a booth job is waiting.
type Publisher interface {
	Publish(ctx context.Context, msg jobs.Message) error
	Signal(ctx context.Context, jobID string) error
}

// Writer is the Gateway's Firestore write scope.
type Writer interface {
	CreateRequest(ctx context.Context, id string, req jobs.Request) error
	DeleteRequest(ctx context.Context, id, input string) error
	MarkEnqueued(ctx context.Context, id string, at time.Time) error
	TakeQuota(ctx context.Context, uid, job string, now time.Time, max int, window time.Duration) (bool, time.Duration, error)
	ReturnQuota(ctx context.Context, uid, job string) error
	AddDeviceToken(ctx context.Context, uid, token string, expireAt time.Time) error
	MoveRequests(ctx context.Context, from, to string) (int, error)
	SetPickup(ctx context.Context, id, hash string, expires time.Time) error
}

// Budget counts the event's spend on generated styles (gatewaydb.Writer):
// TakeBudget reserves one job's price atomically, refusing it past limit
// (0: none), ReturnBudget gives back the reservation of a job never
// enqueued. Amounts are millionths of a US dollar.
type Budget interface {
	TakeBudget(ctx context.Context, event string, micros, limit int64) (bool, error)
	ReturnBudget(ctx context.Context, event string, micros int64) error
	Reserved(ctx context.Context, event string) (int64, error)
}

// Reader reads jobs.
type Reader interface {
	Job(ctx context.Context, id string) (store.Job, error)
	ListJobs(ctx context.Context, uid string, limit int, after *store.Cursor) ([]store.Job, *store.Cursor, error)
	ListBoothJobs(ctx context.Context, event string, limit int, after *store.Cursor) ([]store.Job, *store.Cursor, error)
	Unenqueued(ctx context.Context, event string, before time.Time, limit int) ([]store.Job, error)
	Inputs(ctx context.Context, ids []string) (map[string]string, error)
	QueueAhead(ctx context.Context, event string, p jobs.Priority, at time.Time) (int, error)
	Pace(ctx context.Context, event string, now time.Time, window time.Duration) (store.QueuePace, error)
}

// Inputs is the Gateway's Storage write scope: the input bucket.
type Inputs interface {
	Create(ctx context.Context, object, contentType string, data []byte) error
	Delete(ctx context.Context, object string) error
	Exists(ctx context.Context, object string) (bool, error)
	CreatedBefore(ctx context.Context, before time.Time) ([]string, error)
}

// Deps are the Gateway's collaborators.
type Deps struct {
	Verifier     Verifier
	Publisher    Publisher
	Writer       Writer
	Reader       Reader
	Inputs       Inputs
	URLs         blob.URLs
	Styles       *styles.Catalogue
	Logger       *slog.Logger
	Now          func() time.Time
	Event        string
	OutputBucket string
	// Photos bound what an upload may be.
	Photos upload.Limits
	// PerMinute bounds how many jobs a user (not staff) may submit in a
	// minute, so one client cannot flood the GPU; 0 disables it.
	PerMinute int
	// GuestsPerMinute bounds the jobs all of the event's guests together
	// may submit in a minute; 0 disables it.
	GuestsPerMinute int
	// Budget counts generated jobs; GeneratedBudget (millionths of a US
	// dollar, 0: none) is the most the event's accepted generated jobs may
	// cost at list price.
	Budget          Budget
	GeneratedBudget int64
	// AppOrigins are the web app's origins (scheme://host[:port]) allowed
	// to call the API from a browser.
	AppOrigins []string
	// PendingGrace is how long a request may take from its document to
	// the broker's confirm (undo included); past it, a request whose
	// Gateway died is finished by a retry or the reconciler. Default 2m.
	PendingGrace time.Duration
	// MaxUploads bounds the submissions handled at once (0: no bound);
	// one waits UploadWait for a turn, then gets 503.
	MaxUploads int
	UploadWait time.Duration
	// UploadTimeout bounds reading a submission's body (0: no bound);
	// UploadIdle bounds each wait for its next bytes (0: no bound).
	UploadTimeout time.Duration
	UploadIdle    time.Duration
	// UploadsPerUser bounds one account's submissions in flight (0: no
	// bound); more get 429.
	UploadsPerUser int
	// AppCheck, when set, refuses submissions without a valid App Check
	// token (APP_CHECK=enforce).
	AppCheck AppChecker
	// Retention is how long a job is kept (its expireAt), and how long a
	// pick-up code opens it (default 7 days).
	Retention time.Duration
}

// Server serves the API.
type Server struct {
	d       Deps
	mux     *http.ServeMux
	uploads chan struct{} // one token per submission in flight; nil: unbounded

	userMu  sync.Mutex
	userUps map[string]int // submissions in flight by uid
	photos  sync.Pool      // *bytes.Buffer, reused for uploads
}

// New builds the Gateway.
func New(d Deps) *Server {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Retention <= 0 {
		d.Retention = 7 * 24 * time.Hour
	}
	if d.PendingGrace <= 0 {
		d.PendingGrace = 2 * time.Minute
	}
	s := &Server{d: d, mux: http.NewServeMux(), userUps: make(map[string]int)}
	s.photos.New = func() any { return new(bytes.Buffer) }
	if d.MaxUploads > 0 {
		s.uploads = make(chan struct{}, d.MaxUploads)
	}
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /v1/styles", s.listStyles)
	s.mux.HandleFunc("GET /v1/styles/{id}/preview.jpg", s.stylePreview)
	s.mux.HandleFunc("POST /v1/jobs", s.authed(s.createJob))
	s.mux.HandleFunc("GET /v1/jobs", s.authed(s.listJobs))
	s.mux.HandleFunc("GET /v1/jobs/{id}", s.authed(s.getJob))
	s.mux.HandleFunc("POST /v1/jobs:adopt", s.authed(s.adoptJobs))
	s.mux.HandleFunc("POST /v1/devices", s.authed(s.registerDevice))
	// Unauthenticated: the pick-up code in the body is the credential.
	s.mux.HandleFunc("POST /v1/pickup", s.pickup)
	s.mux.HandleFunc("POST /v1/jobs/{id}/pickup", s.authed(s.reissuePickup))
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, answerErr(api.CodeNotFound, "no such endpoint: "+r.Method+" "+r.URL.Path))
	})
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.cors(w, r) {
		return
	}
	ctx := logging.WithLogger(r.Context(), s.d.Logger)
	s.mux.ServeHTTP(w, r.WithContext(ctx))
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) listStyles(w http.ResponseWriter, r *http.Request) {
	all := s.d.Styles.All()
	out := make([]api.StyleInfo, len(all))
	spent := s.budgetSpent(r.Context())
	for i, st := range all {
		out[i] = api.StyleInfo{ID: st.ID, Name: st.Name, Description: st.Description, Preview: previewURL(r, st), Localized: localized(st.Localized)}
		if g := st.Generated; g != nil {
			out[i].Generated = &api.Generated{Processor: g.Processor, Model: g.Model, PriceUSD: g.PriceUSD, PriceAsOf: g.PriceAsOf,
				Available: s.d.GeneratedBudget <= 0 || spent+priceMicros(st) <= s.d.GeneratedBudget}
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"styles": out, "photo": s.photoLimits()})
}

// previewURL is where a style's example output is: the operator's own URL,
// or this Gateway's preview endpoint for the committed previews. The URL is
// absolute because the app runs on another origin.
func previewURL(r *http.Request, st styles.Style) string {
	switch {
	case st.Preview == "":
		return ""
	case strings.HasPrefix(st.Preview, "https://") || strings.HasPrefix(st.Preview, "http://"):
		return st.Preview
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	// Cloud Functions and Cloud Run terminate TLS in front of the Gateway.
	if p := r.Header.Get("X-Forwarded-Proto"); p == "https" || p == "http" {
		scheme = p
	}
	return scheme + "://" + r.Host + "/v1/styles/" + url.PathEscape(st.ID) + "/preview.jpg"
}

// stylePreview serves a committed example output. The images are part of
// the build, so they may be cached for a day.
func (s *Server) stylePreview(w http.ResponseWriter, r *http.Request) {
	st, ok := s.d.Styles.Lookup(r.PathValue("id"))
	if !ok || st.Preview == "" || strings.Contains(st.Preview, "://") {
		writeError(w, answerErr(api.CodeNotFound, "no preview for style "+strconv.Quote(r.PathValue("id"))))
		return
	}
	data, err := styles.Preview(st.Preview)
	if err != nil {
		writeError(w, answerErr(api.CodeNotFound, "no preview for style "+strconv.Quote(st.ID)))
		return
	}
	w.Header().Set("Content-Type", "image/jpeg")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	http.ServeContent(w, r, st.Preview, time.Time{}, bytes.NewReader(data))
}

type authedHandler func(w http.ResponseWriter, r *http.Request, user auth.User)

// authed verifies the bearer token before calling h. The token itself is
// never logged.
func (s *Server) authed(h authedHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		header := r.Header.Get("Authorization")
		token, ok := strings.CutPrefix(header, "Bearer ")
		if header == "" {
			writeError(w, answerErr(api.CodeUnauthenticated, "missing Authorization: Bearer <Firebase ID token>"))
			return
		}
		if !ok || strings.TrimSpace(token) == "" {
			writeError(w, answerErr(api.CodeUnauthenticated, "malformed Authorization header; want Bearer <Firebase ID token>"))
			return
		}
		user, err := s.d.Verifier.Verify(r.Context(), strings.TrimSpace(token))
		if err != nil {
			if !errors.Is(err, auth.ErrInvalidToken) {
				logging.FromContext(r.Context()).Error("token verification failed", "err", err)
				writeError(w, answerErr(api.CodeUnavailable, "could not verify the token; retry later"))
				return
			}
			logging.FromContext(r.Context()).Info("rejected token", "reason", err.Error())
			writeError(w, answerErr(api.CodeUnauthenticated, "invalid, expired or revoked ID token"))
			return
		}
		ctx := logging.WithLogger(r.Context(), logging.FromContext(r.Context()).With("uid", user.UID))
		h(w, r.WithContext(ctx), user)
	}
}

func (s *Server) registerDevice(w http.ResponseWriter, r *http.Request, user auth.User) {
	var body struct {
		Token string `json:"token"`
	}
	if err := decodeJSON(r, &body); err != nil {
		writeError(w, err)
		return
	}
	if body.Token == "" || len(body.Token) > 4096 {
		writeError(w, answerErr(api.CodeInvalidArgument, "token: an FCM registration token is required"))
		return
	}
	if err := s.d.Writer.AddDeviceToken(r.Context(), user.UID, body.Token, s.d.Now().UTC().Add(s.d.Retention)); err != nil {
		logging.FromContext(r.Context()).Error("register device", "err", err)
		writeError(w, answerErr(api.CodeUnavailable, "could not register the device; retry later"))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"registered": true})
}
