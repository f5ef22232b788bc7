package queue

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/tigerstudio/studio/infra/jobs"
)

// ErrNotConfirmed means the broker did not take responsibility for a message:
// it nacked it, returned it as unroutable, or the connection dropped first.
var ErrNotConfirmed = errors.New("message not confirmed by the broker")

// Publisher publishes persistent job messages and returns only once the
// broker confirmed each one. It keeps one connection, redialled when it
// drops, and a pool of confirm-mode channels, each carrying one publish at a
// time so a basic.return can be matched to the publish it belongs to.
type Publisher struct {
	url  string
	topo Topology

	mu   sync.Mutex
	conn *amqp.Connection
	idle []*pubChannel
	// A failed dial is remembered for dialBackoff, so while the broker is
	// down requests fail at once instead of queueing behind dial timeouts.
	dialErr    error
	dialFailed time.Time
}

const dialBackoff = time.Second

type pubChannel struct {
	conn    *amqp.Connection
	ch      *amqp.Channel
	returns chan amqp.Return
}

// maxIdleChannels bounds the pool; beyond it channels are closed after use.
const maxIdleChannels = 32

// NewPublisher returns a publisher that connects on first use, so a Gateway
// can start (and answer 503) while the broker is down.
func NewPublisher(url string, topo Topology) *Publisher {
	return &Publisher{url: url, topo: topo}
}

// Publish sends a fresh job's msg and waits for the broker's confirm.
// Retries never come through here: the consumer's retrier republishes them.
func (p *Publisher) Publish(ctx context.Context, msg jobs.Message) error {
	body, err := encodeJob(msg)
	if err != nil {
		return fmt.Errorf("queue.Publish: %w", err)
	}
	err = p.send(ctx, p.topo.Exchange(), p.topo.RoutingKey(), true, amqp.Publishing{
		ContentType:  "application/json",
		DeliveryMode: amqp.Persistent,
		MessageId:    msg.JobID,
		Priority:     PriorityOf(msg.Priority),
		Timestamp:    time.Now(),
		Body:         body,
	})
	if err != nil {
		return fmt.Errorf("queue.Publish %s: %w", msg.JobID, err)
	}
	return nil
}

// Signal tells the workers a booth job was enqueued, so a worker busy with
// online jobs can hand one back. It is best effort: a lost signal only means
// the booth job waits for a slot the usual way.
func (p *Publisher) Signal(ctx context.Context, jobID string) error {
	err := p.send(ctx, "", p.topo.PreemptQueue(), false,
		amqp.Publishing{ContentType: "text/plain", MessageId: jobID, Body: []byte(jobID)})
	if err != nil {
		return fmt.Errorf("queue.Signal: %w", err)
	}
	return nil
}

// send publishes on a pooled channel and waits for the confirm; a channel
// that failed is closed rather than pooled.
func (p *Publisher) send(ctx context.Context, exchange, key string, mandatory bool, msg amqp.Publishing) error {
	pc, err := p.channel()
	if err != nil {
		return err
	}
	if err := confirmed(ctx, pc.ch, pc.returns, exchange, key, mandatory, msg); err != nil {
		pc.ch.Close()
		return err
	}
	p.release(pc)
	return nil
}

func (p *Publisher) channel() (*pubChannel, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.idle) > 0 {
		pc := p.idle[len(p.idle)-1]
		p.idle = p.idle[:len(p.idle)-1]
		if !pc.ch.IsClosed() && pc.conn == p.conn {
			return pc, nil
		}
		pc.ch.Close()
	}
	if p.conn == nil || p.conn.IsClosed() {
		if p.dialErr != nil && time.Since(p.dialFailed) < dialBackoff {
			return nil, p.dialErr
		}
		conn, err := dial(p.url, p.topo, "gateway-publisher")
		if err != nil {
			p.conn, p.dialErr, p.dialFailed = nil, err, time.Now()
			return nil, err
		}
		p.conn, p.dialErr = conn, nil
	}
	ch, err := p.conn.Channel()
	if err != nil {
		p.conn.Close()
		p.conn = nil
		return nil, fmt.Errorf("open channel: %w", err)
	}
	if err := ch.Confirm(false); err != nil {
		ch.Close()
		return nil, fmt.Errorf("confirm mode: %w", err)
	}
	returns := ch.NotifyReturn(make(chan amqp.Return, 1))
	return &pubChannel{conn: p.conn, ch: ch, returns: returns}, nil
}

func (p *Publisher) release(pc *pubChannel) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pc.conn != p.conn || len(p.idle) >= maxIdleChannels {
		pc.ch.Close()
		return
	}
	p.idle = append(p.idle, pc)
}

// Close closes the connection and every pooled channel.
func (p *Publisher) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.idle = nil
	if p.conn == nil {
		return nil
	}
	err := p.conn.Close()
	p.conn = nil
	if err != nil && !errors.Is(err, amqp.ErrClosed) {
		return fmt.Errorf("queue.Publisher.Close: %w", err)
	}
	return nil
}
