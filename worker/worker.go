// Package worker runs jobs: it takes a message from the queue, generates the
// styled images and stores the result, keeping Storage and Firestore in
// agreement and counting attempts durably.
package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"strconv"
	"strings"
	"time"

	"github.com/tigerstudio/studio/infra/blob"
	"github.com/tigerstudio/studio/infra/jobs"
	"github.com/tigerstudio/studio/infra/logging"
	"github.com/tigerstudio/studio/infra/queue"
	"github.com/tigerstudio/studio/infra/store"
	"github.com/tigerstudio/studio/infra/styles"
	"github.com/tigerstudio/studio/worker/generate"
	"github.com/tigerstudio/studio/worker/imaging"
	"github.com/tigerstudio/studio/worker/internal/par"
	"github.com/tigerstudio/studio/worker/internal/workerdb"
)

// Requests reads the job's documents.
type Requests interface {
	Request(ctx context.Context, id string) (jobs.Request, error)
	Job(ctx context.Context, id string) (store.Job, error)
}

// Results is the worker's Firestore write scope.
type Results interface {
	Begin(ctx context.Context, id string, req jobs.Request, now time.Time) (int, error)
	Succeed(ctx context.Context, id string, resp jobs.Response) error
	Fail(ctx context.Context, id string, f jobs.Failure) error
	Abandon(ctx context.Context, id string, attempt int) error
}

// Inputs reads input objects.
type Inputs interface {
	Read(ctx context.Context, bucket, object string, limit int64) ([]byte, error)
}

// Outputs is the worker's Storage write scope: the output bucket.
type Outputs interface {
	Create(ctx context.Context, object, contentType string, data []byte) error
	Delete(ctx context.Context, object string) error
	List(ctx context.Context, prefix string) ([]string, error)
}

// Processor handles one job message; it is the consumer's Handler.
type Processor struct {
	Requests    Requests
	Results     Results
	Inputs      Inputs
	Outputs     Outputs
	Generator   generate.Generator
	Styles      *styles.Catalogue
	InputBucket string
	// MaxAttempts bounds how often a job is started, crashes included.
	MaxAttempts int
	// MaxSide bounds the longer side of the image that is generated from.
	MaxSide int
	// MaxInputBytes bounds the download.
	MaxInputBytes int64
	// BusyRetries bounds how often a job that a hosted model refused for
	// now (generate.ErrBusy) goes back to the queue with its attempt given
	// back; past it, the refusal counts as an attempt like any failure.
	BusyRetries int
	Now         func() time.Time
	// gpu, set by New when there are fewer GPU turns than slots, bounds the
	// model runs at once and puts booth jobs' first; the other jobs in hand
	// download, run their CPU steps and upload meanwhile.
	gpu *gpuGate
	// pool shares the pixel work of decode, the steps and encode out over
	// the cores, one pool for every job in hand (nil: one core).
	pool *par.Pool
}

func (p *Processor) now() time.Time {
	if p.Now == nil {
		return time.Now()
	}
	return p.Now()
}

// Handle implements queue.Handler.
func (p *Processor) Handle(ctx context.Context, m queue.Message) error {
	var msg jobs.Message
	if err := json.Unmarshal(m.Body, &msg); err != nil {
		return fmt.Errorf("%w: malformed body: %w", queue.ErrDeadLetter, err)
	}
	if err := msg.Validate(); err != nil {
		return fmt.Errorf("%w: %w", queue.ErrDeadLetter, err)
	}
	ctx = logging.WithJob(ctx, msg.JobID)
	log := logging.FromContext(ctx)
	req, err := p.Requests.Request(ctx, msg.JobID)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: no request document for job %s", queue.ErrDeadLetter, msg.JobID)
	}
	if err != nil {
		return fmt.Errorf("worker: read request: %w", err)
	}
	started := p.now()
	attempt, err := p.Results.Begin(ctx, msg.JobID, req, started)
	if errors.Is(err, workerdb.ErrFinished) {
		log.Info("job already finished; acknowledging redelivery")
		return nil
	}
	if err != nil {
		return fmt.Errorf("worker: begin: %w", err)
	}
	log = log.With("attempt", attempt)
	ctx = logging.WithLogger(ctx, log)
	if attempt > p.MaxAttempts {
		// Earlier attempts ended without a word (a crash, a kill): stop.
		log.Error("job started too often without finishing; giving up", "attempts", attempt-1)
		return p.fail(ctx, msg.JobID, req, attempt-1, jobs.CodeAttemptsExhausted, InternalMessage, true)
	}
	log.Info("job started", "style", req.Style, "priority", req.Priority, "queuedMs", started.Sub(req.CreatedAt).Milliseconds())
	err = p.run(ctx, msg.JobID, req, attempt, started)
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		// Back to the queue. A deliberate return (shutdown past its grace,
		// preemption by a booth job) gives the attempt back; a lost broker
		// does not, since the worker itself may be what fails every time.
		if cause := context.Cause(ctx); errors.Is(cause, queue.ErrShutdown) || errors.Is(cause, queue.ErrPreempted) {
			p.abandon(ctx, msg.JobID, attempt)
		}
		return err
	case errors.Is(err, generate.ErrNoFace):
		return p.fail(ctx, msg.JobID, req, attempt, jobs.CodeNoFace, NoFaceMessage, false)
	case errors.Is(err, errUnreadable):
		// The Gateway checks a photo's structure, not its pixels: damaged
		// image data shows only here. The details stay in the log.
		log.Warn("photo could not be decoded", "err", err)
		return p.fail(ctx, msg.JobID, req, attempt, jobs.CodeInvalidInput, UnreadableMessage, false)
	case errors.Is(err, generate.ErrBlocked):
		// Final: the same photo and style would be refused again.
		log.Warn("the hosted model refused the photo for safety", "err", err)
		return p.fail(ctx, msg.JobID, req, attempt, jobs.CodeBlocked, BlockedMessage, false)
	case errors.Is(err, generate.ErrBusy) && m.Retries < p.BusyRetries:
		// The model's quota or capacity, not this job: the attempt is given
		// back and the message waits out the consumer's backoff, so a storm
		// of 429s delays jobs without failing them.
		log.Warn("the hosted model is busy; the job goes back to the queue", "retries", m.Retries, "err", err)
		p.abandon(ctx, msg.JobID, attempt)
		return err
	case errors.Is(err, generate.ErrInvalidInput):
		// The error names objects, styles and pipeline steps: for the log,
		// not for the owner and the pick-up page, who read the document.
		log.Warn("input cannot be generated", "err", err)
		return p.fail(ctx, msg.JobID, req, attempt, jobs.CodeInvalidInput, InvalidInputMessage, false)
	case attempt >= p.MaxAttempts:
		// Likewise: buckets, objects and dependencies' errors stay in the log.
		log.Error("job failed on every attempt", "attempts", attempt, "err", err)
		return p.fail(ctx, msg.JobID, req, attempt, jobs.CodeInternal, InternalMessage, true)
	}
	return err
}

func (p *Processor) abandon(ctx context.Context, id string, attempt int) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := p.Results.Abandon(ctx, id, attempt); err != nil {
		logging.FromContext(ctx).Warn("could not give the attempt back", "err", err)
	}
}

// fail writes the error document and dead-letters the message.
func (p *Processor) fail(ctx context.Context, id string, req jobs.Request, attempts int, code, message string, retryable bool) error {
	err := p.Results.Fail(ctx, id, jobs.Failure{
		Code: code, Message: message, Retryable: retryable, Attempts: attempts, FailedAt: p.now().UTC(),
		ExpireAt: req.Expiry(),
	})
	if errors.Is(err, workerdb.ErrFinished) {
		logging.FromContext(ctx).Info("job already has its outcome; not failing it")
		return nil
	}
	if err != nil {
		return fmt.Errorf("worker: write error document: %w", err)
	}
	logging.FromContext(ctx).Warn("job failed", "code", code, "reason", message)
	return fmt.Errorf("%w: job failed: %s", queue.ErrDeadLetter, code)
}

func (p *Processor) run(ctx context.Context, id string, req jobs.Request, attempt int, started time.Time) error {
	log := logging.FromContext(ctx)
	style, ok := p.Styles.Lookup(req.Style)
	if !ok {
		return fmt.Errorf("%w: unknown style %q", generate.ErrInvalidInput, req.Style)
	}
	data, err := p.Inputs.Read(ctx, p.InputBucket, req.Input, p.MaxInputBytes)
	if errors.Is(err, blob.ErrNotFound) {
		return fmt.Errorf("%w: input object %s is missing", generate.ErrInvalidInput, req.Input)
	}
	if err != nil {
		return fmt.Errorf("worker: download input: %w", err)
	}
	img, err := imaging.DecodeOn(p.pool, data)
	if err != nil {
		return fmt.Errorf("%w: %w", errUnreadable, err)
	}
	img = imaging.Fit(img, p.MaxSide)
	log.Info("input ready", "width", img.Bounds().Dx(), "height", img.Bounds().Dy())

	genStart := p.now()
	res, err := p.generate(ctx, req.Priority == jobs.Booth, style, img)
	if err != nil {
		return fmt.Errorf("worker: generate: %w", err)
	}
	images := res.Images
	genMs := p.now().Sub(genStart).Milliseconds()
	steps := stepsMs(res.Steps)
	log.Info("generated", "outputs", len(images), "generateMs", genMs, "stepsMs", steps)

	p.deleteEarlierAttempts(ctx, id, attempt)
	outputs, err := p.store(ctx, id, style.ID, attempt, images)
	if err != nil {
		return err
	}
	done := p.now()
	resp := jobs.Response{
		Attempt:   attempt,
		StartedAt: started.UTC(),
		Outputs:   outputs,
		Backend:   style.Backend,
		Model:     style.Model,
		CostUSD:   costUSD(style),
		Timings: &jobs.Timings{
			QueuedMs:   started.Sub(req.CreatedAt).Milliseconds(),
			GenerateMs: genMs,
			FaceMs:     steps["detect-face"],
			StepsMs:    steps,
			TotalMs:    done.Sub(req.CreatedAt).Milliseconds(),
		},
		CompletedAt: done.UTC(),
		Event:       req.Event,
		Priority:    req.Priority,
		EnqueuedAt:  req.QueuedBy(started),
		ExpireAt:    req.Expiry(),
	}
	if err := p.Results.Succeed(ctx, id, resp); err != nil {
		if errors.Is(err, workerdb.ErrFinished) || errors.Is(err, workerdb.ErrSuperseded) {
			log.Info("another attempt owns this job; discarding this one", "reason", err.Error())
			p.deleteOutputs(ctx, outputs)
			return nil
		}
		// A commit can fail after it was applied (a deadline): look before
		// deleting what the document may point to.
		if p.committed(ctx, id, attempt) {
			log.Info("job succeeded (commit confirmed on re-read)")
			return nil
		}
		// Storage and Firestore never disagree: without the document, the
		// outputs must go.
		p.deleteOutputs(ctx, outputs)
		return fmt.Errorf("worker: write response: %w", err)
	}
	log.Info("job succeeded", "totalMs", resp.Timings.TotalMs)
	return nil
}

// UnreadableMessage is the invalid_input error document's message for a
// photo that could not be decoded, written for the user.
const UnreadableMessage = "We could not read your photo: the file is damaged or incomplete. Please send another photo."

// InvalidInputMessage is the invalid_input error document's message for
// any other input that cannot be generated (its input object is gone, it is
// too small, its style is unknown here), written for the user; what exactly
// is in the worker's log.
const InvalidInputMessage = "We could not make a portrait from this photo. Please send another photo."

// BlockedMessage is the blocked error document's message: the hosted model
// refused the photo or what it drew for safety. Written for the user.
const BlockedMessage = "The image model declined this photo or style for safety reasons. Please try another photo, or pick another style."

// InternalMessage is the message of internal and attempts_exhausted error
// documents. The owner and whoever holds the pick-up code read it, so it
// names nothing of ours (buckets, objects, a dependency's error); the
// details are logged at error level with the job id.
const InternalMessage = "Something went wrong on our side while making your portrait. Please try again."

// errUnreadable marks a photo that does not decode.
var errUnreadable = fmt.Errorf("%w: the photo does not decode", generate.ErrInvalidInput)

// NoFaceMessage is the no_face error document's message, written for the
// user.
const NoFaceMessage = "We could not find a face in your photo. Retake it facing the camera, with your whole face visible and well lit."

// costUSD is the list price of the job's hosted model call, 0 for a style
// drawn locally.
func costUSD(style styles.Style) float64 {
	if style.Generated == nil {
		return 0
	}
	return style.Generated.PriceUSD
}

// stepsMs sums the pipeline's step times by kind.
func stepsMs(steps []generate.StepTiming) map[string]int64 {
	if len(steps) == 0 {
		return nil
	}
	out := make(map[string]int64, len(steps))
	for _, s := range steps {
		out[s.Step] += s.Duration.Milliseconds()
	}
	return out
}

// generate runs the generator; with a gate, the job's model runs take
// their turns on the GPU in its class (jobDevice), and nothing else of the
// generation holds the GPU.
func (p *Processor) generate(ctx context.Context, booth bool, style styles.Style, img image.Image) (generate.Result, error) {
	ctx = par.With(ctx, p.pool)
	if p.gpu != nil {
		ctx = generate.WithDevice(ctx, jobDevice{gate: p.gpu, booth: booth})
	}
	return p.Generator.Generate(ctx, style, img)
}

// committed reports whether this attempt's succeeded response is stored.
func (p *Processor) committed(ctx context.Context, id string, attempt int) bool {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	j, err := p.Requests.Job(ctx, id)
	return err == nil && j.Response != nil && j.Response.State == jobs.StateSucceeded && j.Response.Attempt == attempt
}

// deleteEarlierAttempts removes outputs that attempts before this one left
// without a document (killed mid-upload). Later attempts' files are left
// alone: if one exists, this attempt is the superseded one.
func (p *Processor) deleteEarlierAttempts(ctx context.Context, id string, attempt int) {
	names, err := p.Outputs.List(ctx, id+"/")
	if err != nil {
		logging.FromContext(ctx).Warn("could not list earlier outputs", "err", err)
		return
	}
	var stale []jobs.Output
	for _, n := range names {
		if a, ok := attemptOfOutput(n); ok && a < attempt {
			stale = append(stale, jobs.Output{Name: n})
		}
	}
	if len(stale) > 0 {
		logging.FromContext(ctx).Info("deleting outputs of earlier attempts", "objects", len(stale))
		p.deleteOutputs(ctx, stale)
	}
}

// outputName names an attempt's i-th output; attemptOfOutput reads the
// attempt back.
func outputName(id, style string, attempt, i int) string {
	return fmt.Sprintf("%s/%s-a%d-%d.jpg", id, style, attempt, i)
}

func attemptOfOutput(name string) (int, bool) {
	base := name[strings.LastIndex(name, "/")+1:]
	parts := strings.Split(strings.TrimSuffix(base, ".jpg"), "-")
	if len(parts) < 3 {
		return 0, false
	}
	a, err := strconv.Atoi(strings.TrimPrefix(parts[len(parts)-2], "a"))
	return a, err == nil && strings.HasPrefix(parts[len(parts)-2], "a")
}

// store encodes and uploads the outputs; on failure it removes what it had
// uploaded.
func (p *Processor) store(ctx context.Context, id, style string, attempt int, images []image.Image) ([]jobs.Output, error) {
	var outputs []jobs.Output
	for i, img := range images {
		data, err := imaging.EncodeJPEGOn(p.pool, img, 90)
		if err != nil {
			p.deleteOutputs(ctx, outputs)
			return nil, fmt.Errorf("worker: %w", err)
		}
		// The attempt is in the name so a late, superseded attempt can never
		// overwrite or delete the winner's files.
		o := jobs.Output{
			Name:        outputName(id, style, attempt, i),
			ContentType: "image/jpeg",
			Width:       img.Bounds().Dx(),
			Height:      img.Bounds().Dy(),
		}
		if err := p.Outputs.Create(ctx, o.Name, o.ContentType, data); err != nil {
			// A failed (e.g. cancelled) upload may still have landed.
			p.deleteOutputs(ctx, append(outputs, o))
			return nil, fmt.Errorf("worker: upload output: %w", err)
		}
		outputs = append(outputs, o)
	}
	return outputs, nil
}

func (p *Processor) deleteOutputs(ctx context.Context, outputs []jobs.Output) {
	// Clean up even when ctx was cancelled mid-job.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	for _, o := range outputs {
		if err := p.Outputs.Delete(ctx, o.Name); err != nil {
			logging.FromContext(ctx).Error("could not delete output; it is orphaned", "object", o.Name, "err", err)
		}
	}
}
