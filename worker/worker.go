// Package worker runs jobs: it takes a message from the queue, generates the
// styled images and stores the result, keeping Storage and Firestore in
// agreement and counting attempts durably.
package worker

import (
	"context"
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
	// Deps' logger is only the consumer's: a job logs through the logger
	// its context carries (job id and attempt).
	Deps
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

// Handle implements queue.Handler: the message decoded (queue.Jobs), the
// attempt counted and bounded (attempts), then the job processed (process).
func (p *Processor) Handle(ctx context.Context, m queue.Message) error {
	return queue.Jobs(p.attempts(p.process)).Handle(ctx, m)
}

// attempt is one start of a job, counted durably.
type attempt struct {
	id      string
	req     jobs.Request
	n       int
	started time.Time
}

// attemptHandler processes one attempt of a job.
type attemptHandler func(ctx context.Context, m queue.Message, a attempt) error

// errFailWrite marks a failure whose error document could not be written:
// the message is retried, and the next attempt writes it.
var errFailWrite = errors.New("worker: write error document")

// errGiveBack, wrapped in an attemptHandler's error, gives the attempt back:
// the job goes back to the queue through no fault of its own.
var errGiveBack = errors.New("the attempt is given back")

// attempts is the attempt limit around a job's processing. It reads the
// request, counts the start durably (the running response) and acks the
// redelivery of a finished job; it gives up on a job started too often
// without finishing (a crash every time), turns the last attempt's failure
// into the job's error document, and gives the attempt back when the job
// goes back to the queue on purpose.
func (p *Processor) attempts(next attemptHandler) queue.JobHandler {
	return func(ctx context.Context, m queue.Message, msg jobs.Message) error {
		ctx = logging.WithJob(ctx, msg.JobID)
		a, err := p.begin(ctx, msg.JobID)
		if err != nil || a.n == 0 {
			return err
		}
		ctx = logging.WithLogger(ctx, logging.FromContext(ctx).With("attempt", a.n))
		log := logging.FromContext(ctx)
		if a.n > p.MaxAttempts {
			// Earlier attempts ended without a word (a crash, a kill): stop.
			log.Error("job started too often without finishing; giving up", "attempts", a.n-1)
			return p.fail(ctx, a, a.n-1, jobs.CodeAttemptsExhausted, InternalMessage, true)
		}
		err = next(ctx, m, a)
		switch {
		case err == nil || errors.Is(err, queue.ErrDeadLetter):
			return err
		case ctx.Err() != nil:
			// Back to the queue. A deliberate return (shutdown past its
			// grace, preemption by a booth job) gives the attempt back; a
			// lost broker does not, since the worker itself may be what
			// fails every time.
			if cause := context.Cause(ctx); errors.Is(cause, queue.ErrShutdown) || errors.Is(cause, ErrPreempted) {
				p.abandon(ctx, a)
			}
			return err
		case errors.Is(err, errGiveBack):
			p.abandon(ctx, a)
			return err
		case a.n >= p.MaxAttempts && !errors.Is(err, errFailWrite):
			// Buckets, objects and dependencies' errors stay in the log.
			log.Error("job failed on every attempt", "attempts", a.n, "err", err)
			return p.fail(ctx, a, a.n, jobs.CodeInternal, InternalMessage, true)
		}
		return err
	}
}

// begin reads the job's request and records its start; an attempt numbered
// 0 means the job is finished already (a redelivery: ack it).
func (p *Processor) begin(ctx context.Context, id string) (attempt, error) {
	req, err := p.Requests.Request(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return attempt{}, fmt.Errorf("%w: no request document for job %s", queue.ErrDeadLetter, id)
	}
	if err != nil {
		return attempt{}, fmt.Errorf("worker: read request: %w", err)
	}
	started := p.now()
	n, err := p.Results.Begin(ctx, id, req, started)
	if errors.Is(err, workerdb.ErrFinished) {
		logging.FromContext(ctx).Info("job already finished; acknowledging redelivery")
		return attempt{}, nil
	}
	if err != nil {
		return attempt{}, fmt.Errorf("worker: begin: %w", err)
	}
	return attempt{id: id, req: req, n: n, started: started}, nil
}

// process runs an attempt and says what its failure means for the job:
// final ones get their error document (and dead-letter the message), a busy
// hosted model gives the attempt back, the rest are retried.
func (p *Processor) process(ctx context.Context, m queue.Message, a attempt) error {
	log := logging.FromContext(ctx)
	log.Info("job started", "style", a.req.Style, "priority", a.req.Priority, "queuedMs", a.started.Sub(a.req.CreatedAt).Milliseconds())
	err := p.run(ctx, a)
	switch {
	case err == nil || ctx.Err() != nil:
		return err
	case errors.Is(err, generate.ErrNoFace):
		return p.fail(ctx, a, a.n, jobs.CodeNoFace, NoFaceMessage, false)
	case errors.Is(err, errUnreadable):
		// The Gateway checks a photo's structure, not its pixels: damaged
		// image data shows only here. The details stay in the log.
		log.Warn("photo could not be decoded", "err", err)
		return p.fail(ctx, a, a.n, jobs.CodeInvalidInput, UnreadableMessage, false)
	case errors.Is(err, generate.ErrBlocked):
		// Final: the same photo and style would be refused again.
		log.Warn("the hosted model refused the photo for safety", "err", err)
		return p.fail(ctx, a, a.n, jobs.CodeBlocked, BlockedMessage, false)
	case errors.Is(err, generate.ErrBusy) && m.Retries < p.BusyRetries:
		// The model's quota or capacity, not this job: the attempt is given
		// back and the message waits out the retry backoff, so a storm of
		// 429s delays jobs without failing them.
		log.Warn("the hosted model is busy; the job goes back to the queue", "retries", m.Retries, "err", err)
		return fmt.Errorf("%w: %w", errGiveBack, err)
	case errors.Is(err, generate.ErrInvalidInput):
		// The error names objects, styles and pipeline steps: for the log,
		// not for the owner and the pick-up page, who read the document.
		log.Warn("input cannot be generated", "err", err)
		return p.fail(ctx, a, a.n, jobs.CodeInvalidInput, InvalidInputMessage, false)
	}
	return err
}

func (p *Processor) abandon(ctx context.Context, a attempt) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := p.Results.Abandon(ctx, a.id, a.n); err != nil {
		logging.FromContext(ctx).Warn("could not give the attempt back", "err", err)
	}
}

// fail writes the error document and dead-letters the message.
func (p *Processor) fail(ctx context.Context, a attempt, attempts int, code, message string, retryable bool) error {
	err := p.Results.Fail(ctx, a.id, jobs.Failure{
		Code: code, Message: message, Retryable: retryable, Attempts: attempts, FailedAt: p.now().UTC(),
		ExpireAt: a.req.Expiry(),
	})
	if errors.Is(err, workerdb.ErrFinished) {
		logging.FromContext(ctx).Info("job already has its outcome; not failing it")
		return nil
	}
	if err != nil {
		return fmt.Errorf("%w: %w", errFailWrite, err)
	}
	logging.FromContext(ctx).Warn("job failed", "code", code, "reason", message)
	return fmt.Errorf("%w: job failed: %s", queue.ErrDeadLetter, code)
}

// run makes the attempt's images and commits them: uploaded outputs and the
// succeeded response, or neither.
func (p *Processor) run(ctx context.Context, a attempt) error {
	style, ok := p.Styles.Lookup(a.req.Style)
	if !ok {
		return fmt.Errorf("%w: unknown style %q", generate.ErrInvalidInput, a.req.Style)
	}
	img, err := p.input(ctx, a.req)
	if err != nil {
		return err
	}
	genStart := p.now()
	res, err := p.generate(ctx, a.req.Priority == jobs.Booth, style, img)
	if err != nil {
		return fmt.Errorf("worker: generate: %w", err)
	}
	genMs := p.now().Sub(genStart).Milliseconds()
	steps := stepsMs(res.Steps)
	logging.FromContext(ctx).Info("generated", "outputs", len(res.Images), "generateMs", genMs, "stepsMs", steps)

	p.deleteEarlierAttempts(ctx, a.id, a.n)
	outputs, err := p.store(ctx, a.id, style.ID, a.n, res.Images)
	if err != nil {
		return err
	}
	done := p.now()
	return p.commit(ctx, a, outputs, jobs.Response{
		Attempt:   a.n,
		StartedAt: a.started.UTC(),
		Outputs:   outputs,
		Backend:   style.Backend,
		Model:     style.Model,
		CostUSD:   costUSD(style),
		Timings: &jobs.Timings{
			QueuedMs:   a.started.Sub(a.req.CreatedAt).Milliseconds(),
			GenerateMs: genMs,
			FaceMs:     steps["detect-face"],
			StepsMs:    steps,
			TotalMs:    done.Sub(a.req.CreatedAt).Milliseconds(),
		},
		CompletedAt: done.UTC(),
		Event:       a.req.Event,
		Priority:    a.req.Priority,
		EnqueuedAt:  a.req.QueuedBy(a.started),
		ExpireAt:    a.req.Expiry(),
	})
}

// input downloads and decodes the job's photo, fitted to MaxSide.
func (p *Processor) input(ctx context.Context, req jobs.Request) (image.Image, error) {
	data, err := p.Inputs.Read(ctx, p.InputBucket, req.Input, p.MaxInputBytes)
	if errors.Is(err, blob.ErrNotFound) {
		return nil, fmt.Errorf("%w: input object %s is missing", generate.ErrInvalidInput, req.Input)
	}
	if err != nil {
		return nil, fmt.Errorf("worker: download input: %w", err)
	}
	img, err := imaging.DecodeOn(p.pool, data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errUnreadable, err)
	}
	img = imaging.Fit(img, p.MaxSide)
	logging.FromContext(ctx).Info("input ready", "width", img.Bounds().Dx(), "height", img.Bounds().Dy())
	return img, nil
}

// commit writes the succeeded response for the uploaded outputs; the
// outputs stay only if the response that names them is stored.
func (p *Processor) commit(ctx context.Context, a attempt, outputs []jobs.Output, resp jobs.Response) error {
	log := logging.FromContext(ctx)
	err := p.Results.Succeed(ctx, a.id, resp)
	switch {
	case err == nil:
		log.Info("job succeeded", "totalMs", resp.Timings.TotalMs)
		return nil
	case errors.Is(err, workerdb.ErrFinished) || errors.Is(err, workerdb.ErrSuperseded):
		log.Info("another attempt owns this job; discarding this one", "reason", err.Error())
		p.deleteOutputs(ctx, outputs)
		return nil
	case p.committed(ctx, a.id, a.n):
		// A commit can fail after it was applied (a deadline): look before
		// deleting what the document may point to.
		log.Info("job succeeded (commit confirmed on re-read)")
		return nil
	}
	// Storage and Firestore never disagree: without the document, the
	// outputs must go.
	p.deleteOutputs(ctx, outputs)
	return fmt.Errorf("worker: write response: %w", err)
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
