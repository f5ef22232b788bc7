package queue

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/tigerstudio/studio/infra/jobs"
)

// The job message's wire form, written by Publisher and read by Jobs: one
// codec, so the two cannot drift apart.

func encodeJob(msg jobs.Message) ([]byte, error) {
	body, err := json.Marshal(msg)
	if err != nil {
		return nil, fmt.Errorf("encode job message: %w", err)
	}
	return body, nil
}

func decodeJob(body []byte) (jobs.Message, error) {
	var msg jobs.Message
	if err := json.Unmarshal(body, &msg); err != nil {
		return jobs.Message{}, fmt.Errorf("malformed body: %w", err)
	}
	if err := msg.Validate(); err != nil {
		return jobs.Message{}, err
	}
	return msg, nil
}

// JobHandler handles a job message, decoded.
type JobHandler func(ctx context.Context, m Message, job jobs.Message) error

// Jobs adapts h to a Handler: it decodes and validates the body Publisher
// wrote. A message that does not decode is dead-lettered: no retry can fix
// it, and it must not block the queue.
func Jobs(h JobHandler) Handler {
	return HandlerFunc(func(ctx context.Context, m Message) error {
		job, err := decodeJob(m.Body)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrDeadLetter, err)
		}
		return h(ctx, m, job)
	})
}
