package queue

import (
	"context"
	"fmt"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// dialTimeout bounds how long an unreachable broker can hold a request.
const dialTimeout = 5 * time.Second

// dial opens a connection and declares the topology on it, so every fresh
// connection (including one after a broker restart) finds its queues.
func dial(url string, topo Topology, name string) (*amqp.Connection, error) {
	conn, err := amqp.DialConfig(url, amqp.Config{
		Dial:       amqp.DefaultDial(dialTimeout),
		Heartbeat:  10 * time.Second,
		Properties: amqp.Table{"connection_name": name},
	})
	if err != nil {
		return nil, fmt.Errorf("queue.dial: %w", err)
	}
	ch, err := conn.Channel()
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("queue.dial channel: %w", err)
	}
	defer ch.Close()
	if err := topo.Declare(ch); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

// DeclareTopology connects once, declares the topology and disconnects. Tests
// and setup use it; the components declare on every connection anyway.
func DeclareTopology(url string, topo Topology) error {
	conn, err := dial(url, topo, "declare")
	if err != nil {
		return err
	}
	return conn.Close()
}

// confirmed publishes msg on ch, which is in confirm mode, and waits for the
// broker's confirm. With mandatory set, a message the broker returns as
// unroutable counts as not confirmed: the broker sends basic.return before
// the ack of the same message, and the client delivers it to the buffered
// returns channel before resolving the confirm, so it is visible here as long
// as the channel carries one publish at a time.
func confirmed(ctx context.Context, ch *amqp.Channel, returns <-chan amqp.Return, exchange, key string, mandatory bool, msg amqp.Publishing) error {
	dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, exchange, key, mandatory, false, msg)
	if err != nil {
		return err
	}
	acked, err := dc.WaitContext(ctx)
	if err != nil {
		return err
	}
	if !acked {
		return ErrNotConfirmed
	}
	select {
	case r := <-returns:
		return fmt.Errorf("%w: returned %d %s", ErrNotConfirmed, r.ReplyCode, r.ReplyText)
	default:
	}
	return nil
}
