// Package api holds the types of the Gateway's HTTP API (DESIGN.md, "HTTP
// API"), so clients (the Go client, the demo, tests) share them without
// importing the Gateway itself.
package api

import "net/http"

// Job is the API's view of a job.
type Job struct {
	ID        string    `json:"id"`
	Status    string    `json:"status"`
	Style     string    `json:"style"`
	Priority  string    `json:"priority"`
	CreatedAt string    `json:"createdAt"`
	Outputs   []Output  `json:"outputs"`
	Error     *JobError `json:"error,omitempty"`
	// Timings are there once the job succeeded.
	Timings *Timings `json:"timings,omitempty"`
	// Queue is there while the job is queued, on GET /v1/jobs/{id}.
	Queue *Queue `json:"queue,omitempty"`
	// Pickup is the job's pick-up code (POST /v1/pickup opens the job
	// with it, without an account), only in the answer that created the
	// job: the Gateway stores only its hash. POST /v1/jobs/{id}/pickup
	// issues a new one.
	Pickup string `json:"pickup,omitempty"`
}

// PickupCode is the answer of POST /v1/jobs/{id}/pickup: a new code,
// shown this once, and when it stops working.
type PickupCode struct {
	Pickup    string `json:"pickup"`
	ExpiresAt string `json:"expiresAt"`
}

// PickupRequest is the body of POST /v1/pickup. The code travels in the
// body, never in a URL, so it stays out of request logs.
type PickupRequest struct {
	Job  string `json:"job"`
	Code string `json:"code"`
}

// Queue says where a queued job stands: Position jobs are ahead of it (0:
// it is next), and its portrait should be ready in about EtaSeconds (its
// wait and its own generation; absent while no recent job tells the pace).
type Queue struct {
	Position   int `json:"position"`
	EtaSeconds int `json:"etaSeconds,omitempty"`
}

// Timings of a finished job, in milliseconds.
type Timings struct {
	QueuedMs   int64 `json:"queuedMs"`
	GenerateMs int64 `json:"generateMs"`
	TotalMs    int64 `json:"totalMs"`
}

// Output is one generated image with a download URL.
type Output struct {
	URL         string `json:"url"`
	Width       int    `json:"width"`
	Height      int    `json:"height"`
	ContentType string `json:"contentType"`
}

// JobError says why a job failed.
type JobError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// StyleInfo is the public part of a style.
type StyleInfo struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	// Preview is the URL of an example output.
	Preview string `json:"preview,omitempty"`
	// Localized holds Name and Description in other languages, by
	// language code ("ko"); a client falls back to Name and Description.
	Localized map[string]StyleText `json:"localized,omitempty"`
	// Generated is set for a style a hosted model draws: the photo is sent
	// to that processor, and each image costs.
	Generated *Generated `json:"generated,omitempty"`
}

// StyleText is a style's name and description in one language.
type StyleText struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

// Generated says who draws a generated style, what one image costs at list
// price, and whether the event can still take one.
type Generated struct {
	// Processor is the service the photo is sent to ("Google Vertex AI").
	Processor string `json:"processor"`
	Model     string `json:"model"`
	// PriceUSD is the list price of one image, read on PriceAsOf.
	PriceUSD  float64 `json:"priceUSD"`
	PriceAsOf string  `json:"priceAsOf"`
	// Available is false once the event's budget for generated images is
	// spent: submissions of the style are then refused (429).
	Available bool `json:"available"`
}

// ErrorBody is the body of every error answer: {"error": {"code", "message"}}.
type ErrorBody struct {
	Error Error `json:"error"`
}

// Error is an error answer's code and message.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// Reason, when set, says which limit refused the request, for a client
	// that acts on it (like google.rpc.ErrorInfo's reason): an addition to
	// DESIGN.md's {code, message}, which clients may ignore.
	Reason string `json:"reason,omitempty"`
}

// The error codes of DESIGN.md; Status says each one's HTTP status.
const (
	CodeInvalidArgument     = "invalid_argument"
	CodeUnauthenticated     = "unauthenticated"
	CodePermissionDenied    = "permission_denied"
	CodeNotFound            = "not_found"
	CodeAlreadyExists       = "already_exists"
	CodeTooLarge            = "too_large"
	CodeUnsupportedMedia    = "unsupported_media_type"
	CodeIdempotencyMismatch = "idempotency_mismatch" // beyond DESIGN.md's list
	CodeResourceExhausted   = "resource_exhausted"
	CodeUnavailable         = "unavailable"
)

// Status is the HTTP status an error answer with code is sent with; 500 for
// a code the contract does not list.
func Status(code string) int {
	switch code {
	case CodeInvalidArgument:
		return http.StatusBadRequest
	case CodeUnauthenticated:
		return http.StatusUnauthorized
	case CodePermissionDenied:
		return http.StatusForbidden
	case CodeNotFound:
		return http.StatusNotFound
	case CodeAlreadyExists:
		return http.StatusConflict
	case CodeTooLarge:
		return http.StatusRequestEntityTooLarge
	case CodeUnsupportedMedia:
		return http.StatusUnsupportedMediaType
	case CodeIdempotencyMismatch:
		return http.StatusUnprocessableEntity
	case CodeResourceExhausted:
		return http.StatusTooManyRequests
	case CodeUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// PhotoLimits is what GET /v1/styles says a photo must be (the "photo"
// field beside "styles"), from the Gateway's own configuration, so the app
// checks a photo before uploading it with the numbers the Gateway applies.
type PhotoLimits struct {
	// MinSide is the shortest side in pixels (MIN_PHOTO_SIDE).
	MinSide int `json:"minSide"`
	// MaxAspect bounds the longer side over the shorter (MAX_PHOTO_ASPECT).
	MaxAspect float64 `json:"maxAspect"`
	// MaxBytes and MaxPixels bound the file (MAX_UPLOAD_BYTES, MAX_PIXELS).
	MaxBytes  int64 `json:"maxBytes"`
	MaxPixels int64 `json:"maxPixels"`
}
