// Package notify is the Notify function: triggered by Firestore document
// events on responses/{jobId} and errors/{jobId}, it tells the job's owner by
// email and push that the result is ready or what went wrong, once per job
// however often the event is delivered.
package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/tigerstudio/studio/functions/notify/internal/notifydb"
	"github.com/tigerstudio/studio/infra/blob"
	"github.com/tigerstudio/studio/infra/firestoreevent"
	"github.com/tigerstudio/studio/infra/jobs"
	"github.com/tigerstudio/studio/infra/logging"
	"github.com/tigerstudio/studio/infra/store"
	"github.com/tigerstudio/studio/infra/styles"
)

// Channels recorded in notifications/{jobId}.
const (
	ChannelEmail = "email"
	ChannelPush  = "push"
	// ChannelSMS is the text message to requests/{id}.notify.phone.
	ChannelSMS = "sms"
)

// Mailer sends one email.
type Mailer interface {
	Send(ctx context.Context, m Email) error
}

// Messenger sends a push notification to a user's devices. In the cloud it
// is Firebase Cloud Messaging, which has no emulator. Rejected are the
// tokens FCM refused for good (unregistered or invalid), which Notify
// removes from devices/{uid}.
type Messenger interface {
	Send(ctx context.Context, tokens []string, p Push) (rejected []string, err error)
}

// Push is one push notification.
type Push struct {
	Title string
	Body  string
	Data  map[string]string
}

// Jobs reads what a notification is about.
type Jobs interface {
	Job(ctx context.Context, id string) (store.Job, error)
	Devices(ctx context.Context, uid string) (store.Device, error)
	Unnotified(ctx context.Context, from, to time.Time, limit int) (succeeded, failed []string, err error)
}

// Owners tells the address a job's owner verified after submitting, for a
// request that names none (a guest who confirmed an address later).
type Owners interface {
	VerifiedEmail(ctx context.Context, uid string) (string, error)
}

// Ledger is Notify's write scope: notifications/{jobId}.
type Ledger interface {
	Claim(ctx context.Context, id string, expireAt *time.Time, now time.Time, lease time.Duration) (notifydb.Claim, error)
	MarkSent(ctx context.Context, id, token, channel string) error
	// Attempt records that a channel is about to be sent, so a delivery
	// that finds it attempted but not sent asks the provider first.
	Attempt(ctx context.Context, id, token, channel string) error
	// RemoveDeviceTokens drops push tokens FCM rejected from devices/{uid}.
	RemoveDeviceTokens(ctx context.Context, uid string, tokens []string) error
	Complete(ctx context.Context, id, token string, now time.Time) error
	Release(ctx context.Context, id, token string) error
}

// Deps are Notify's collaborators.
type Deps struct {
	Jobs      Jobs
	Ledger    Ledger
	Mailer    Mailer
	Messenger Messenger
	// Texter, when set, sends text messages to the number on the request.
	Texter Texter
	// AppURL is the web app's address, for the link in a text message.
	AppURL string
	// Owners, when set, gives the owner's verified address to a job whose
	// request names none.
	Owners       Owners
	URLs         blob.URLs
	Styles       *styles.Catalogue
	OutputBucket string
	// Event, when set, is the only event whose jobs this instance notifies.
	Event string
	// MaxAge drops events older than this: a trigger retrying a poisoned
	// event forever must stop somewhere.
	MaxAge time.Duration
	// Lease bounds how long one delivery holds a job's notification.
	Lease time.Duration
	// SweepGrace and SweepLookback bound the finished jobs Sweep looks at
	// (default 10m and 48h).
	SweepGrace, SweepLookback time.Duration
	Logger                    *slog.Logger
	Now                       func() time.Time
}

// Service handles the events.
type Service struct {
	d Deps
}

// New builds the Notify service.
func New(d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Lease <= 0 {
		d.Lease = 2 * time.Minute
	}
	if d.SweepGrace <= 0 {
		d.SweepGrace = 10 * time.Minute
	}
	if d.SweepLookback <= 0 {
		d.SweepLookback = 48 * time.Hour
	}
	return &Service{d: d}
}

// outcome is what a document change means for the owner.
type outcome int

const (
	ignore outcome = iota
	succeeded
	failed
)

// classify decides whether a change is one Notify acts on: a response turning
// succeeded, or an error document being created.
func classify(collection string, d firestoreevent.Data) outcome {
	switch collection {
	case store.Responses:
		if firestoreevent.String(d.Value, "state") == jobs.StateSucceeded &&
			firestoreevent.String(d.OldValue, "state") != jobs.StateSucceeded {
			return succeeded
		}
	case store.Errors:
		if d.Value != nil && d.OldValue == nil {
			return failed
		}
	}
	return ignore
}

// Handle processes one CloudEvent. An error makes the trigger redeliver it.
func (s *Service) Handle(ctx context.Context, e cloudevents.Event) error {
	log := s.d.Logger.With("eventId", e.ID())
	if e.Type() != firestoreevent.TypeWritten {
		log.Warn("ignoring event of unexpected type", "type", e.Type())
		return nil
	}
	if age := s.d.Now().Sub(e.Time()); s.d.MaxAge > 0 && age > s.d.MaxAge {
		log.Warn("dropping stale event", "age", age.String())
		return nil
	}
	path, err := firestoreevent.DocumentPath(e)
	if err != nil {
		log.Warn("ignoring event", "err", err)
		return nil
	}
	collection, id, ok := strings.Cut(path, "/")
	if !ok || id == "" || strings.Contains(id, "/") {
		log.Warn("ignoring event for an unexpected document", "document", path)
		return nil
	}
	data, err := firestoreevent.Decode(e.DataContentType(), e.Data())
	if err != nil {
		// A body that cannot be decoded never will be: retrying is useless.
		log.Error("undecodable event", "err", err)
		return nil
	}
	what := classify(collection, data)
	if what == ignore {
		return nil
	}
	ctx = logging.WithLogger(ctx, log.With("jobId", id))
	_, err = s.notify(ctx, id, what)
	return err
}

// notify tells the job's owner, once; sent reports whether this call sent
// anything.
func (s *Service) notify(ctx context.Context, id string, what outcome) (sent bool, _ error) {
	log := logging.FromContext(ctx)
	job, err := s.d.Jobs.Job(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		log.Warn("no request document; nobody to notify")
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("notify: read job: %w", err)
	}
	if s.d.Event != "" && job.Request.Event != s.d.Event {
		log.Debug("job of another event; not ours to notify", "event", job.Request.Event)
		return false, nil
	}
	r, err := s.route(ctx, job)
	if err != nil || !r.any() {
		return false, err
	}
	claim, err := s.d.Ledger.Claim(ctx, id, job.Request.Expiry(), s.d.Now(), s.d.Lease)
	switch {
	case errors.Is(err, notifydb.ErrAlreadySent):
		log.Info("already notified; duplicate event")
		return false, nil
	case err != nil:
		return false, fmt.Errorf("notify: %w", err)
	}
	msg, err := s.compose(ctx, job, what)
	if err == nil {
		err = s.deliver(ctx, id, job, r, claim, msg)
	}
	if err != nil {
		s.release(ctx, id, claim.Token)
		return false, err
	}
	if err := s.d.Ledger.Complete(ctx, id, claim.Token, s.d.Now()); err != nil {
		return false, fmt.Errorf("notify: %w", err)
	}
	return true, nil
}

// route is where a job's notification goes: the owner's channels that can
// reach them.
type route struct {
	email  string
	tokens []string // push, to the owner's devices
	phone  string
}

func (r route) any() bool { return r.email != "" || len(r.tokens) > 0 || r.phone != "" }

// route resolves the channels the owner chose to addresses.
func (s *Service) route(ctx context.Context, job store.Job) (route, error) {
	log := logging.FromContext(ctx)
	req := job.Request
	choice := req.Notify
	r := route{email: choice.Email, phone: choice.Phone}
	// A booth job's owner is the kiosk's staff account: its address and its
	// devices are never the attendee's. An owner who chose channels without
	// email chose none.
	booth := req.Priority == jobs.Booth
	chose := func(c string) bool { return choice.Channels == nil || slices.Contains(choice.Channels, c) }
	if r.email == "" && chose("email") && s.d.Owners != nil && !booth {
		email, err := s.d.Owners.VerifiedEmail(ctx, req.UID)
		if err != nil {
			return route{}, fmt.Errorf("notify: %w", err)
		}
		if r.email = email; email != "" {
			log.Info("mailing the address the owner verified after submitting")
		}
	}
	if chose("push") && !booth {
		dev, err := s.d.Jobs.Devices(ctx, req.UID)
		if err != nil {
			return route{}, fmt.Errorf("notify: read devices: %w", err)
		}
		r.tokens = dev.Tokens
	}
	if r.phone != "" && s.d.Texter == nil {
		log.Warn("the request asks for a text message but no SMS provider is configured")
		r.phone = ""
	}
	if !r.any() {
		log.Info("owner chose no channel that can reach them; not notifying")
	}
	return r, nil
}

// deliver sends msg on each channel of r the claim has not recorded as
// sent. Each channel is tried even if another failed, and recorded once
// sent, so a retry sends only what is missing.
func (s *Service) deliver(ctx context.Context, id string, job store.Job, r route, claim notifydb.Claim, msg message) error {
	log := logging.FromContext(ctx)
	var failures []error
	send := func(channel string, wanted bool, f func() error) {
		if !wanted || slices.Contains(claim.Sent, channel) {
			return
		}
		switch err := f(); {
		case errors.Is(err, errSkipped):
			return
		case err != nil:
			failures = append(failures, fmt.Errorf("%s: %w", channel, err))
			return
		}
		if err := s.d.Ledger.MarkSent(ctx, id, claim.Token, channel); err != nil {
			failures = append(failures, err)
			return
		}
		log.Info(channel+" sent", "devices", len(r.tokens))
	}
	send(ChannelEmail, r.email != "", func() error {
		msg.email.To = r.email
		return s.d.Mailer.Send(ctx, msg.email)
	})
	send(ChannelPush, len(r.tokens) > 0, func() error { return s.push(ctx, job.Request.UID, r.tokens, msg) })
	send(ChannelSMS, r.phone != "", func() error {
		return s.text(ctx, id, claim.Token, slices.Contains(claim.Attempted, ChannelSMS), Text{To: r.phone, Body: msg.text, Key: id})
	})
	if err := errors.Join(failures...); err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	return nil
}

// push sends the push notification to the owner's devices and forgets the
// tokens FCM rejected: a stale token costs a failed send on every job, and
// the owner's app registers a fresh one when it next runs.
func (s *Service) push(ctx context.Context, uid string, tokens []string, msg message) error {
	log := logging.FromContext(ctx)
	rejected, err := s.d.Messenger.Send(ctx, tokens, msg.push)
	if len(rejected) > 0 {
		if rmErr := s.d.Ledger.RemoveDeviceTokens(ctx, uid, rejected); rmErr != nil {
			log.Warn("could not remove rejected push tokens", "count", len(rejected), "err", rmErr)
		} else {
			log.Info("removed push tokens FCM rejected", "count", len(rejected))
		}
	}
	return err
}

// errSkipped ends a channel that can never be sent (the provider refused
// the number) without failing the delivery: retrying could not help.
var errSkipped = errors.New("channel skipped")

// text sends the job's text message once. A delivery that finds the
// channel attempted but not recorded as sent (its predecessor died between
// the provider's answer and the ledger's write, or got no answer) asks the
// provider whether the message exists before sending it again.
func (s *Service) text(ctx context.Context, id, token string, attempted bool, t Text) error {
	if attempted {
		sent, err := s.d.Texter.Sent(ctx, t)
		if err != nil {
			return fmt.Errorf("check an earlier attempt: %w", err)
		}
		if sent {
			logging.FromContext(ctx).Info("the provider has this job's text from an earlier attempt; not sending again")
			return nil
		}
	}
	if err := s.d.Ledger.Attempt(ctx, id, token, ChannelSMS); err != nil {
		return err
	}
	err := s.d.Texter.Text(ctx, t)
	if errors.Is(err, ErrTextRejected) {
		logging.FromContext(ctx).Warn("the SMS provider refused the number; not retrying", "err", err)
		return errSkipped
	}
	return err
}

func (s *Service) release(ctx context.Context, id, token string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := s.d.Ledger.Release(ctx, id, token); err != nil {
		logging.FromContext(ctx).Warn("could not release the claim; the retry waits for the lease", "err", err)
	}
}
