package queue

import "github.com/tigerstudio/studio/infra/config"

// Broker is the broker's part of a component's configuration, embedded in
// the Gateway's, the worker's and the operator tool's Config.
type Broker struct {
	// AMQPURL holds the broker password: it is never logged.
	AMQPURL     string `env:"AMQP_URL"`
	QueuePrefix string `env:"QUEUE_PREFIX, default=tiger"`
}

// Problems reports the broker settings that are missing.
func (b Broker) Problems() []error {
	return config.Required("AMQP_URL", b.AMQPURL, "QUEUE_PREFIX", b.QueuePrefix)
}

// Topology names the queues the prefix makes.
func (b Broker) Topology() Topology { return Topology{Prefix: b.QueuePrefix} }
