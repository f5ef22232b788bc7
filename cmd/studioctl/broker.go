package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// broker is a short-lived AMQP connection for reading queue depths and
// walking the dead-letter queue. Publishing goes through infra/queue's
// confirmed publisher instead.
type broker struct {
	conn *amqp.Connection
}

func dialBroker(url string) (*broker, error) {
	conn, err := amqp.DialConfig(url, amqp.Config{
		Dial:       amqp.DefaultDial(5 * time.Second),
		Properties: amqp.Table{"connection_name": "studioctl"},
	})
	if err != nil {
		return nil, fmt.Errorf("amqp dial: %w", err)
	}
	return &broker{conn: conn}, nil
}

func (b *broker) Close() error { return b.conn.Close() }

// queueInfo is what AMQP's passive queue.declare says about a queue: the
// messages ready for delivery (not those delivered and unacked) and the
// consumers. It cannot split the ready count by priority.
type queueInfo struct {
	Name      string `json:"name"`
	Ready     int    `json:"ready"`
	Consumers int    `json:"consumers"`
}

// inspect declares name passively (on a channel of its own: a missing
// queue closes the channel).
func (b *broker) inspect(name string) (queueInfo, error) {
	ch, err := b.conn.Channel()
	if err != nil {
		return queueInfo{}, fmt.Errorf("amqp channel: %w", err)
	}
	defer ch.Close()
	q, err := ch.QueueDeclarePassive(name, true, false, false, false, nil)
	if err != nil {
		return queueInfo{}, fmt.Errorf("inspect queue %s: %w", name, notFoundHint(err))
	}
	return queueInfo{Name: name, Ready: q.Messages, Consumers: q.Consumers}, nil
}

// deadLetter is one message of the dead-letter queue, as its headers tell.
type deadLetter struct {
	JobID       string    `json:"jobId"`
	Priority    uint8     `json:"priority"`
	Reason      string    `json:"reason"`      // x-death reason: rejected, expired, maxlen, ...
	Queue       string    `json:"queue"`       // the queue it died in
	Count       int64     `json:"count"`       // how often it died there
	Time        time.Time `json:"time"`        // when it first died
	Retries     int64     `json:"retries"`     // x-tiger-retries: passes through the retry queue
	Body        string    `json:"body"`        // bounded
	Redelivered bool      `json:"redelivered"` // seen by an earlier list
}

// maxDeadWalk bounds a walk of the dead-letter queue; the queue itself is
// bounded (queue.DefaultDeadLimit).
const maxDeadWalk = 20_000

// walkDead takes every message of the dead-letter queue without acking,
// asks remove which to delete, acks those and returns the others to the
// queue (in their places: RabbitMQ requeues to the original position), so
// a walk with remove returning false changes nothing but the redelivered
// flag. It returns every letter seen and how many were removed.
func (b *broker) walkDead(ctx context.Context, queueName string, remove func(deadLetter) bool) ([]deadLetter, int, error) {
	ch, err := b.conn.Channel()
	if err != nil {
		return nil, 0, fmt.Errorf("amqp channel: %w", err)
	}
	// Closing the channel returns whatever is still unacked.
	defer ch.Close()
	var (
		letters []deadLetter
		keep    []uint64
		removed int
	)
	for len(letters) < maxDeadWalk {
		if err := ctx.Err(); err != nil {
			return letters, removed, err
		}
		d, ok, err := ch.Get(queueName, false)
		if err != nil {
			return letters, removed, fmt.Errorf("get from %s: %w", queueName, notFoundHint(err))
		}
		if !ok {
			break
		}
		l := letterOf(d)
		letters = append(letters, l)
		if remove != nil && remove(l) {
			if err := d.Ack(false); err != nil {
				return letters, removed, fmt.Errorf("ack dead letter %s: %w", l.JobID, err)
			}
			removed++
			continue
		}
		keep = append(keep, d.DeliveryTag)
	}
	var errs []error
	for _, tag := range keep {
		if err := ch.Nack(tag, false, true); err != nil {
			errs = append(errs, err)
			break
		}
	}
	if err := errors.Join(errs...); err != nil {
		return letters, removed, fmt.Errorf("return dead letters: %w", err)
	}
	return letters, removed, nil
}

func letterOf(d amqp.Delivery) deadLetter {
	l := deadLetter{JobID: d.MessageId, Priority: d.Priority, Redelivered: d.Redelivered}
	body := d.Body
	if len(body) > 200 {
		body = body[:200]
	}
	l.Body = string(body)
	l.Retries = toInt(d.Headers["x-tiger-retries"])
	if s, ok := d.Headers["x-first-death-reason"].(string); ok {
		l.Reason = s
	}
	if s, ok := d.Headers["x-first-death-queue"].(string); ok {
		l.Queue = s
	}
	if deaths, ok := d.Headers["x-death"].([]any); ok && len(deaths) > 0 {
		// The most recent death comes first.
		if t, ok := deaths[0].(amqp.Table); ok {
			if s, ok := t["reason"].(string); ok {
				l.Reason = s
			}
			if s, ok := t["queue"].(string); ok {
				l.Queue = s
			}
			l.Count = toInt(t["count"])
			if ts, ok := t["time"].(time.Time); ok {
				l.Time = ts.UTC()
			}
		}
	}
	return l
}

// toInt reads an AMQP table's integer, whichever width the broker sent it
// as; 0 for anything else.
func toInt(v any) int64 {
	switch n := reflect.ValueOf(v); {
	case n.CanInt():
		return n.Int()
	case n.CanUint() && n.Uint() <= math.MaxInt64:
		return int64(n.Uint())
	}
	return 0
}

// notFoundHint explains a missing queue: the components declare the
// topology when they first connect, and studioctl only looks.
func notFoundHint(err error) error {
	var aerr *amqp.Error
	if errors.As(err, &aerr) && aerr.Code == amqp.NotFound {
		return fmt.Errorf("%w (no component has declared it yet, or QUEUE_PREFIX is wrong)", err)
	}
	return err
}
