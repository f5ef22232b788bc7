package queue

import (
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
