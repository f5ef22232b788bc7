// Package jobs holds the job model shared by every component: the queue
// message, the Firestore documents of DESIGN.md and the derived status.
package jobs

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Priority is the scheduling class of a job.
type Priority string

const (
	// Booth jobs come from staff on site and always go first.
	Booth Priority = "booth"
	// Online jobs come from attendees and fill the remaining capacity.
	Online Priority = "online"
)

// ParsePriority maps the API's priority field; empty means Online.
func ParsePriority(s string) (Priority, error) {
	switch Priority(s) {
	case "", Online:
		return Online, nil
	case Booth:
		return Booth, nil
	}
	return "", fmt.Errorf("unknown priority %q (want %q or %q)", s, Booth, Online)
}

// Message is the body of the one message the Gateway publishes per job. It
// carries only what the consumer uses before it reads requests/{jobId}, the
// job's single source of truth.
type Message struct {
	JobID    string   `json:"jobId"`
	Event    string   `json:"event"`
	Priority Priority `json:"priority"`
}

// Validate reports what makes a message unusable, so a malformed one can be
// dead-lettered instead of retried.
func (m Message) Validate() error {
	if err := CheckID(m.JobID); err != nil {
		return fmt.Errorf("message: %w", err)
	}
	if _, err := ParsePriority(string(m.Priority)); err != nil {
		return fmt.Errorf("message %s: %w", m.JobID, err)
	}
	return nil
}

// MaxIDLength bounds a job id; the Gateway's are UUIDs.
const MaxIDLength = 128

// CheckID reports whether id can name a job's documents (Firestore document
// id rules, bounded in length), so a bad id is refused before any read. The
// error quotes at most the start of the id.
func CheckID(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("empty job id")
	case len(id) > MaxIDLength:
		return fmt.Errorf("job id %.32q... is longer than %d bytes", id, MaxIDLength)
	case strings.Contains(id, "/"), id == ".", id == "..",
		strings.HasPrefix(id, "__") && strings.HasSuffix(id, "__"):
		return fmt.Errorf("job id %q is not a valid document id", id)
	case !utf8.ValidString(id):
		return fmt.Errorf("job id %q is not valid UTF-8", id)
	}
	return nil
}

// Notify says where the owner wants to hear about the result: the channels
// chosen on the upload screen (DESIGN.md's `email`, `phone`, `push`).
type Notify struct {
	Email string `firestore:"email,omitempty" json:"email,omitempty"`
	// Phone is an E.164 number for a text message: one the owner proved
	// with Firebase Auth's phone sign-in, or one booth staff typed for the
	// attendee. Readable by the owner, the event's staff and the server
	// side only (firestore.rules on requests/).
	Phone string `firestore:"phone,omitempty" json:"phone,omitempty"`
	// Push asks for web push to the devices the owner registered.
	Push bool `firestore:"push,omitempty" json:"push,omitempty"`
	// Channels are the channels the owner chose ("email", "phone",
	// "push"). Email chosen without an address mails the address the owner
	// verifies later (a guest's email link). Requests from before the
	// choice existed (nil) keep the old defaults: email to the verified
	// address and push to every registered device. An owner who chose
	// none has ["none"] (Firestore reads an empty list back as absent).
	Channels []string `firestore:"channels,omitempty" json:"channels,omitempty"`
}

// Request is requests/{jobId}, written once by the Gateway.
type Request struct {
	UID            string   `firestore:"uid"`
	Event          string   `firestore:"event"`
	Style          string   `firestore:"style"`
	Priority       Priority `firestore:"priority"`
	Input          string   `firestore:"input"`
	ContentType    string   `firestore:"contentType"`
	Width          int      `firestore:"width"`
	Height         int      `firestore:"height"`
	Notify         Notify   `firestore:"notify"`
	IdempotencyKey string   `firestore:"idempotencyKey,omitempty"`
	// Consent is the version of the consent text the owner accepted, as
	// the app sent it, so the event can show who agreed to what.
	Consent   string    `firestore:"consent,omitempty"`
	CreatedAt time.Time `firestore:"createdAt"`
	// ExpireAt is when the job's documents go: CreatedAt plus the event's
	// retention (RETENTION_DAYS), the days the consent text promises. The
	// worker's and Notify's documents of the job repeat it, so Firestore's
	// TTL policy on expireAt (terraform/firestore.tf) deletes them together,
	// and studioctl purge --expired does it where no TTL runs (emulator).
	ExpireAt time.Time `firestore:"expireAt"`
	// Digest is the photo's SHA-256 (hex), so a retry with the same
	// Idempotency-Key and another photo is recognised.
	Digest string `firestore:"digest,omitempty"`
	// PickupHash is the SHA-256 (hex) of the job's pick-up code (a field
	// beyond DESIGN.md's list): whoever holds the code may see the job's
	// status and results without an account (POST /v1/pickup), as the
	// kiosk's QR code allows. Only the hash is stored, so reading the
	// database does not reveal codes; the code itself is shown once, when
	// it is made. PickupExpiresAt ends it; staff or the owner may issue a
	// new one, which revokes the old.
	PickupHash      string     `firestore:"pickupHash,omitempty"`
	PickupExpiresAt *time.Time `firestore:"pickupExpiresAt,omitempty"`
	// EnqueuedAt is set once the broker confirmed the job's message. It is
	// stored as null until then, so requests whose Gateway died before
	// the confirm can be found and finished (the request is the job's
	// outbox).
	EnqueuedAt *time.Time `firestore:"enqueuedAt"`
}

// Expiry is the request's ExpireAt as the other documents of the job
// repeat it: nil for a request written before retention was recorded,
// which the TTL policy then leaves to studioctl purge.
func (r Request) Expiry() *time.Time {
	if r.ExpireAt.IsZero() {
		return nil
	}
	t := r.ExpireAt.UTC()
	return &t
}

// Enqueued reports whether the broker confirmed the job's message.
func (r Request) Enqueued() bool { return r.EnqueuedAt != nil && !r.EnqueuedAt.IsZero() }

// QueuedBy is the enqueue time a response of the job repeats: the request's
// enqueuedAt, or started when the Gateway's mark has not landed yet (an idle
// worker takes the message before the Gateway hears the broker's confirm).
// A response must carry one: the queue's position counts requests enqueued
// less the responses that carry it, so a started job without it would stay
// "ahead" of every later job.
func (r Request) QueuedBy(started time.Time) *time.Time {
	if r.Enqueued() {
		return r.EnqueuedAt
	}
	t := started.UTC()
	return &t
}

// Response states.
const (
	StateRunning   = "running"
	StateSucceeded = "succeeded"
)

// Output is one generated image.
type Output struct {
	Name        string `firestore:"name"`
	ContentType string `firestore:"contentType"`
	Width       int    `firestore:"width"`
	Height      int    `firestore:"height"`
}

// Timings are the job's durations in milliseconds.
type Timings struct {
	QueuedMs   int64 `firestore:"queuedMs"`
	GenerateMs int64 `firestore:"generateMs"`
	TotalMs    int64 `firestore:"totalMs"`
	// FaceMs is the face gate's share of GenerateMs (0 for styles without).
	FaceMs int64 `firestore:"faceMs,omitempty"`
	// StepsMs is each pipeline step's time, by step kind.
	StepsMs map[string]int64 `firestore:"stepsMs,omitempty"`
}

// Response is responses/{jobId}, written by the worker.
type Response struct {
	State       string    `firestore:"state"`
	Attempt     int       `firestore:"attempt"`
	StartedAt   time.Time `firestore:"startedAt"`
	Outputs     []Output  `firestore:"outputs,omitempty"`
	Backend     string    `firestore:"backend,omitempty"`
	Model       string    `firestore:"model,omitempty"`
	Timings     *Timings  `firestore:"timings,omitempty"`
	CompletedAt time.Time `firestore:"completedAt,omitempty"`
	// CostUSD is what the job's hosted model calls cost at list price
	// (the style's generated.priceUSD per generated image; absent for
	// local styles), written with the succeeded response, so studioctl
	// status and make cost sum an event's spend from the responses.
	CostUSD float64 `firestore:"costUSD,omitempty"`
	// Event, Priority and EnqueuedAt repeat the request's (fields beyond
	// DESIGN.md's list), so the jobs still queued ahead of one can be
	// counted: requests enqueued before it, less the responses of those
	// started.
	Event      string     `firestore:"event,omitempty"`
	Priority   Priority   `firestore:"priority,omitempty"`
	EnqueuedAt *time.Time `firestore:"enqueuedAt,omitempty"`
	// ExpireAt repeats the request's (see Request.ExpireAt).
	ExpireAt *time.Time `firestore:"expireAt,omitempty"`
}

// Error codes of errors/{jobId}.
const (
	// CodeInvalidInput: the photo or request cannot be generated; retrying
	// will not help.
	CodeInvalidInput = "invalid_input"
	// CodeNoFace: the style needs a face and the photo shows none; the user
	// should retake it with the face visible.
	CodeNoFace = "no_face"
	// CodeAttemptsExhausted: the job was started too often without finishing
	// (its worker crashed or was killed every time).
	CodeAttemptsExhausted = "attempts_exhausted"
	// CodeInternal: the job failed on every allowed attempt.
	CodeInternal = "internal"
	// CodeBlocked: the hosted model refused the photo or its result for
	// safety; never retried: the user sends another photo or picks another
	// style.
	CodeBlocked = "blocked"
)

// Failure is errors/{jobId}, written by the worker when a job cannot succeed.
type Failure struct {
	Code      string    `firestore:"code"`
	Message   string    `firestore:"message"`
	Retryable bool      `firestore:"retryable"`
	Attempts  int       `firestore:"attempts"`
	FailedAt  time.Time `firestore:"failedAt"`
	// ExpireAt repeats the request's (see Request.ExpireAt).
	ExpireAt *time.Time `firestore:"expireAt,omitempty"`
}

// Status is derived from the documents, never stored.
type Status string

const (
	Queued    Status = "queued"
	Running   Status = "running"
	Succeeded Status = "succeeded"
	Failed    Status = "failed"
)

// StatusOf derives a job's status as DESIGN.md defines it: an error document
// wins, then the response state, otherwise the job is still queued.
func StatusOf(resp *Response, failure *Failure) Status {
	switch {
	case failure != nil:
		return Failed
	case resp != nil && resp.State == StateSucceeded:
		return Succeeded
	case resp != nil && resp.State == StateRunning:
		return Running
	}
	return Queued
}
