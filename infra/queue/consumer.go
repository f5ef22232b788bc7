package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/tigerstudio/studio/infra/logging"
)

// ErrDeadLetter, wrapped in a handler's error, rejects the message without
// requeueing: the broker moves it to the dead-letter queue. Use it for
// messages that can never succeed.
var ErrDeadLetter = errors.New("dead-letter the message")

// Why a handler's context was cancelled, for context.Cause: a handler may
// treat a shutdown (the job goes back to the queue on purpose) differently
// from a lost connection (the worker may be what is failing).
var (
	ErrShutdown       = errors.New("worker shutting down")
	ErrConnectionLost = errors.New("broker connection lost")
)

// retriesHeader counts how often a message went through the retry queue; it
// sets the backoff only. Attempts that matter are counted durably by the
// handler.
const retriesHeader = "x-tiger-retries"

// Message is a delivery as the handler sees it.
type Message struct {
	ID          string
	Body        []byte
	Priority    uint8
	Redelivered bool
	Retries     int
	// retryLater parks a copy in the retry queue for a delay (Retry acks
	// the original once it is parked).
	retryLater func(ctx context.Context, delay time.Duration) error
}

// Handler processes one message. nil acks it; an error wrapping
// ErrDeadLetter dead-letters it (the broker moves it to the dead-letter
// queue); any other error sends it back to the head of the queue at once.
// Middleware (Retry, Recoverer) turns failures into later retries.
type Handler interface {
	Handle(ctx context.Context, m Message) error
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, m Message) error

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, m Message) error { return f(ctx, m) }

// ConsumerConfig configures a Consumer.
type ConsumerConfig struct {
	URL      string
	Topology Topology
	// Slots is how many messages are handled at once, and the prefetch:
	// never more, so a high-priority message waits only for those.
	Slots int
	// Grace is how long a shutdown waits for messages in hand.
	Grace time.Duration
	// Middleware wraps every handler Run is given, the first outermost:
	// the policies (retry, recover, preemption) its user chose.
	Middleware []Middleware
	// Signals, if set, is called with the job id of each booth signal
	// (Publisher.Signal), on the consumer's own goroutine, so it must not
	// block: the hook that decides whether a job in hand makes room.
	Signals func(boothJobID string)
	Logger  *slog.Logger
}

// Consumer consumes the job queue with manual acks, reconnecting whenever the
// broker connection drops.
type Consumer struct {
	cfg       ConsumerConfig
	connected atomic.Bool
}

// NewConsumer returns a consumer; Run starts it.
func NewConsumer(cfg ConsumerConfig) *Consumer {
	if cfg.Slots < 1 {
		cfg.Slots = 1
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Consumer{cfg: cfg}
}

// Connected reports whether the consumer holds a live broker session.
func (c *Consumer) Connected() bool { return c.connected.Load() }

// Run consumes until ctx is cancelled, then stops taking messages, lets those
// in hand finish within the grace period and returns the rest to the queue.
func (c *Consumer) Run(ctx context.Context, h Handler) error {
	h = Chain(h, c.cfg.Middleware...)
	delay := 250 * time.Millisecond
	for {
		started := time.Now()
		err := c.runSession(ctx, h)
		if ctx.Err() != nil {
			return nil
		}
		if time.Since(started) > time.Minute {
			delay = 250 * time.Millisecond
		}
		c.cfg.Logger.Warn("broker session ended; reconnecting", "err", err, "in", delay)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(delay):
		}
		delay = min(2*delay, 10*time.Second)
	}
}

// runSession runs one broker connection until it drops or ctx ends.
func (c *Consumer) runSession(ctx context.Context, h Handler) error {
	s, err := c.openSession()
	if err != nil {
		return err
	}
	defer s.conn.Close()
	c.connected.Store(true)
	defer c.connected.Store(false)
	c.cfg.Logger.Info("consuming", "queue", c.cfg.Topology.Queue(), "slots", c.cfg.Slots)
	return c.dispatch(ctx, s, h)
}

// consumerTag names the job consumer, so a shutdown can cancel it.
const consumerTag = "worker"

// session is one broker connection and the channels the dispatch loop reads.
type session struct {
	conn        *amqp.Connection
	jobs        *amqp.Channel        // consumes the job queue
	deliveries  <-chan amqp.Delivery // from jobs
	closed      <-chan *amqp.Error   // the connection closed
	retry       *retrier
	retryClosed <-chan *amqp.Error
	signals     <-chan amqp.Delivery // booth signals; nil, never ready, without a Signals hook
}

// openSession dials the broker and opens the session's channels; on error
// nothing is left open.
func (c *Consumer) openSession() (*session, error) {
	conn, err := dial(c.cfg.URL, c.cfg.Topology, "worker")
	if err != nil {
		return nil, err
	}
	s, err := c.openChannels(conn)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return s, nil
}

// openChannels opens the job channel with a prefetch of Slots, the retry
// channel and, with a Signals hook, the signal consumer. Jobs are consumed last,
// once everything a delivery needs is ready.
func (c *Consumer) openChannels(conn *amqp.Connection) (*session, error) {
	s := &session{conn: conn, closed: conn.NotifyClose(make(chan *amqp.Error, 1))}
	var err error
	if s.jobs, err = conn.Channel(); err != nil {
		return nil, fmt.Errorf("queue.Consumer channel: %w", err)
	}
	if err := s.jobs.Qos(c.cfg.Slots, 0, false); err != nil {
		return nil, fmt.Errorf("queue.Consumer qos: %w", err)
	}
	if s.retry, s.retryClosed, err = openRetrier(conn); err != nil {
		return nil, err
	}
	if c.cfg.Signals != nil {
		if s.signals, err = consumeSignals(conn, c.cfg.Topology); err != nil {
			return nil, err
		}
	}
	if s.deliveries, err = s.jobs.Consume(c.cfg.Topology.Queue(), consumerTag, false, false, false, false, nil); err != nil {
		return nil, fmt.Errorf("queue.Consumer consume: %w", err)
	}
	return s, nil
}

// openRetrier opens the confirm-mode channel retries are published on, and
// reports when it closes.
func openRetrier(conn *amqp.Connection) (*retrier, <-chan *amqp.Error, error) {
	ch, err := conn.Channel()
	if err != nil {
		return nil, nil, fmt.Errorf("queue.Consumer retry channel: %w", err)
	}
	if err := ch.Confirm(false); err != nil {
		return nil, nil, fmt.Errorf("queue.Consumer retry confirms: %w", err)
	}
	r := &retrier{ch: ch, returns: ch.NotifyReturn(make(chan amqp.Return, 1))}
	return r, ch.NotifyClose(make(chan *amqp.Error, 1)), nil
}

// consumeSignals consumes booth signals on a channel of their own, with
// automatic acks: a signal is a hint, and a lost one costs only a wait.
func consumeSignals(conn *amqp.Connection, topo Topology) (<-chan amqp.Delivery, error) {
	ch, err := conn.Channel()
	if err != nil {
		return nil, fmt.Errorf("queue.Consumer preempt channel: %w", err)
	}
	signals, err := ch.Consume(topo.PreemptQueue(), "", true, false, false, false, nil)
	if err != nil {
		return nil, fmt.Errorf("queue.Consumer consume preempt signals: %w", err)
	}
	return signals, nil
}

// dispatch hands each delivery to a handler of its own and acts on the
// session's events until ctx ends (it drains and returns nil) or the session
// fails (it cancels the handlers and returns why).
func (c *Consumer) dispatch(ctx context.Context, s *session, h Handler) error {
	f := newInFlight(ctx)
	defer f.cancel(ErrConnectionLost)
	for {
		select {
		case <-ctx.Done():
			_ = s.jobs.Cancel(consumerTag, false)
			f.drain(c.cfg.Grace, c.cfg.Logger)
			return nil
		case err := <-s.closed:
			return f.abort(fmt.Errorf("queue.Consumer: connection closed: %w", err))
		case err := <-s.retryClosed:
			// Without the retry channel transient failures could not back
			// off; start a fresh session instead.
			return f.abort(fmt.Errorf("queue.Consumer: retry channel closed: %w", err))
		case sig, ok := <-s.signals:
			if !ok {
				return f.abort(errors.New("queue.Consumer: preempt channel closed"))
			}
			c.cfg.Signals(sig.MessageId)
		case d, ok := <-s.deliveries:
			if !ok {
				return f.abort(errors.New("queue.Consumer: delivery channel closed"))
			}
			f.start(func(ctx context.Context) { c.handle(ctx, s.retry, d, h) })
		}
	}
}

// inFlight runs a session's handlers. They run under a context of their own:
// a shutdown does not cancel them until the grace period is over, a lost
// connection does at once (their messages are back in the queue already).
type inFlight struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	wg     sync.WaitGroup
}

func newInFlight(ctx context.Context) *inFlight {
	hctx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	return &inFlight{ctx: hctx, cancel: cancel}
}

// start runs handle in a goroutine.
func (f *inFlight) start(handle func(context.Context)) {
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		handle(f.ctx)
	}()
}

// drain waits for the handlers for up to grace, then cancels the rest with
// ErrShutdown and waits for them to hand their messages back.
func (f *inFlight) drain(grace time.Duration, log *slog.Logger) {
	done := make(chan struct{})
	go func() { f.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(grace):
		log.Warn("grace period over; returning unfinished messages to the queue")
		f.cancel(ErrShutdown)
		<-done
	}
}

// abort cancels the handlers with ErrConnectionLost, waits for them and
// returns err.
func (f *inFlight) abort(err error) error {
	f.cancel(ErrConnectionLost)
	f.wg.Wait()
	return err
}

// handle runs h on d and settles d by its outcome: ack, dead-letter, or back
// to the head of the queue.
func (c *Consumer) handle(ctx context.Context, retry *retrier, d amqp.Delivery, h Handler) {
	n := retries(d.Headers)
	m := Message{
		ID: d.MessageId, Body: d.Body, Priority: d.Priority, Redelivered: d.Redelivered, Retries: n,
		retryLater: func(ctx context.Context, delay time.Duration) error {
			return retry.publish(ctx, c.cfg.Topology, d, n+1, delay)
		},
	}
	log := c.cfg.Logger.With("jobId", d.MessageId)
	err := h.Handle(logging.WithLogger(ctx, c.cfg.Logger), m)
	switch {
	case err == nil:
		ackErr(log, d.Ack(false))
	case errors.Is(err, ErrDeadLetter):
		log.Warn("dead-lettering message", "err", err)
		ackErr(log, d.Nack(false, false))
	default:
		log.Info("returning message to the queue", "err", err, "cause", context.Cause(ctx))
		ackErr(log, d.Nack(false, true))
	}
}

func ackErr(log *slog.Logger, err error) {
	if err != nil {
		// The channel is gone: the broker requeues the message itself.
		log.Warn("ack/nack failed", "err", err)
	}
}

// retrier parks messages in the retry queue. Its publishes are serialised:
// retries are rare, and one publish at a time lets a basic.return be matched
// to the publish it belongs to, as in Publisher.
type retrier struct {
	mu      sync.Mutex
	ch      *amqp.Channel
	returns chan amqp.Return
}

// publish parks a copy of the message in the retry queue with the delay as
// its TTL; the broker dead-letters it back to the job exchange when it
// expires, at retryPriority.
func (r *retrier) publish(ctx context.Context, topo Topology, d amqp.Delivery, n int, delay time.Duration) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	headers := amqp.Table{}
	for k, v := range d.Headers {
		headers[k] = v
	}
	headers[retriesHeader] = int32(n)
	err := confirmed(ctx, r.ch, r.returns, "", topo.RetryQueue(), true, amqp.Publishing{
		ContentType:  d.ContentType,
		DeliveryMode: amqp.Persistent,
		MessageId:    d.MessageId,
		Priority:     retryPriority(d.Priority),
		Timestamp:    d.Timestamp,
		Headers:      headers,
		Expiration:   strconv.FormatInt(max(delay.Milliseconds(), 1), 10),
		Body:         d.Body,
	})
	if err != nil {
		return fmt.Errorf("queue.retry: %w", err)
	}
	return nil
}

func retries(h amqp.Table) int {
	switch v := h[retriesHeader].(type) {
	case int32:
		return int(v)
	case int64:
		return int(v)
	case int:
		return v
	}
	return 0
}
