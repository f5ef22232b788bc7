// Package queue is the RabbitMQ adapter: the topology both the Gateway and the
// worker declare, the confirmed publisher and (for the worker) the consumer.
package queue

import (
	"fmt"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/tigerstudio/studio/infra/jobs"
)

// AMQP priorities. RabbitMQ advises few levels; booth sits above online with
// one level between them for retried online jobs.
const (
	priorityOnline uint8 = 1
	priorityRetry  uint8 = 2
	priorityBooth  uint8 = 3
	maxPriority          = 3
)

// PriorityOf maps a job's class to the AMQP priority it is first published
// with. A retry's priority is retryPriority's.
func PriorityOf(p jobs.Priority) uint8 {
	if p == jobs.Booth {
		return priorityBooth
	}
	return priorityOnline
}

// retryPriority is the one rule for the priority a failed message comes back
// with: an online job rises to the retry level, above the online backlog so
// it is not starved and below booth jobs; a booth job keeps its own.
func retryPriority(p uint8) uint8 { return max(p, priorityRetry) }

// Topology names the exchange and queues of one deployment. Every name derives
// from one prefix so several events or test runs can share a broker.
type Topology struct {
	Prefix string
	// DeadLimit bounds the dead-letter queue (default DefaultDeadLimit):
	// beyond it the oldest dead letter is dropped, so a flood of poison
	// messages cannot fill the broker's disk. Each dead-lettered job has
	// its error document; the dead letter is only a copy for inspection.
	DeadLimit int
}

// DefaultDeadLimit is the dead-letter queue's bound unless a Topology sets
// one.
const DefaultDeadLimit = 10_000

// deadTTL is how long a dead letter is kept for inspection (ms).
const deadTTL = 14 * 24 * 3600 * 1000

func (t Topology) deadLimit() int {
	if t.DeadLimit > 0 {
		return t.DeadLimit
	}
	return DefaultDeadLimit
}

// Exchange is the durable direct exchange jobs are published to.
func (t Topology) Exchange() string { return t.Prefix + ".jobs" }

// Queue is the durable priority queue the worker consumes.
func (t Topology) Queue() string { return t.Prefix + ".jobs" }

// DeadExchange receives rejected messages.
func (t Topology) DeadExchange() string { return t.Prefix + ".dead" }

// DeadQueue keeps rejected messages for an operator to inspect.
func (t Topology) DeadQueue() string { return t.Prefix + ".dead" }

// RetryQueue holds retried messages until their per-message TTL (the
// backoff) expires; the broker then dead-letters them back to the exchange.
// It has no consumer. RabbitMQ expires messages only at the head of a
// queue, so a short backoff can wait behind a longer one; backoffs are
// capped (Backoff.Max) to bound that.
func (t Topology) RetryQueue() string { return t.Prefix + ".retry" }

// PreemptQueue carries best-effort signals that a booth job was enqueued;
// workers compete for them, and one whose slots are all busy with online
// jobs hands one back so the booth job can start. Signals expire quickly: a
// late one is useless.
func (t Topology) PreemptQueue() string { return t.Prefix + ".preempt" }

// preemptTTL is how long a preemption signal may wait for a worker.
const preemptTTL = 30_000 // ms

// RoutingKey binds the job queue to its exchange.
func (t Topology) RoutingKey() string { return "job" }

// Declare creates the topology, or checks it is already there with the same
// arguments. It is idempotent and called on every (re)connection.
func (t Topology) Declare(ch *amqp.Channel) error {
	if t.Prefix == "" {
		return fmt.Errorf("queue.Declare: empty prefix")
	}
	if err := ch.ExchangeDeclare(t.DeadExchange(), amqp.ExchangeFanout, true, false, false, false, nil); err != nil {
		return fmt.Errorf("queue.Declare dead exchange: %w", err)
	}
	if _, err := ch.QueueDeclare(t.DeadQueue(), true, false, false, false, amqp.Table{
		amqp.QueueTypeArg: amqp.QueueTypeClassic,
		"x-max-length":    t.deadLimit(),
		"x-overflow":      "drop-head",
		"x-message-ttl":   deadTTL,
	}); err != nil {
		return fmt.Errorf("queue.Declare dead queue: %w", err)
	}
	if err := ch.QueueBind(t.DeadQueue(), "", t.DeadExchange(), false, nil); err != nil {
		return fmt.Errorf("queue.Declare bind dead queue: %w", err)
	}
	if err := ch.ExchangeDeclare(t.Exchange(), amqp.ExchangeDirect, true, false, false, false, nil); err != nil {
		return fmt.Errorf("queue.Declare exchange: %w", err)
	}
	if _, err := ch.QueueDeclare(t.Queue(), true, false, false, false, amqp.Table{
		amqp.QueueTypeArg:        amqp.QueueTypeClassic,
		"x-max-priority":         maxPriority,
		"x-dead-letter-exchange": t.DeadExchange(),
	}); err != nil {
		return fmt.Errorf("queue.Declare job queue: %w", err)
	}
	if err := ch.QueueBind(t.Queue(), t.RoutingKey(), t.Exchange(), false, nil); err != nil {
		return fmt.Errorf("queue.Declare bind job queue: %w", err)
	}
	if _, err := ch.QueueDeclare(t.RetryQueue(), true, false, false, false, amqp.Table{
		amqp.QueueTypeArg:           amqp.QueueTypeClassic,
		"x-dead-letter-exchange":    t.Exchange(),
		"x-dead-letter-routing-key": t.RoutingKey(),
	}); err != nil {
		return fmt.Errorf("queue.Declare retry queue: %w", err)
	}
	if _, err := ch.QueueDeclare(t.PreemptQueue(), true, false, false, false, amqp.Table{
		amqp.QueueTypeArg: amqp.QueueTypeClassic,
		"x-message-ttl":   preemptTTL,
	}); err != nil {
		return fmt.Errorf("queue.Declare preempt queue: %w", err)
	}
	return nil
}

// Delete removes everything Declare created; tests use it to clean up.
func (t Topology) Delete(ch *amqp.Channel) error {
	for _, q := range []string{t.Queue(), t.DeadQueue(), t.RetryQueue(), t.PreemptQueue()} {
		if _, err := ch.QueueDelete(q, false, false, false); err != nil {
			return fmt.Errorf("queue.Delete %s: %w", q, err)
		}
	}
	for _, x := range []string{t.Exchange(), t.DeadExchange()} {
		if err := ch.ExchangeDelete(x, false, false); err != nil {
			return fmt.Errorf("queue.Delete %s: %w", x, err)
		}
	}
	return nil
}
