package queue

import (
	"testing"

	"github.com/tigerstudio/studio/infra/jobs"
)

func TestPriorities(t *testing.T) {
	tests := []struct {
		class     jobs.Priority
		wantFresh uint8
		wantRetry uint8
	}{
		{jobs.Online, priorityOnline, priorityRetry},
		{jobs.Booth, priorityBooth, priorityBooth},
	}
	for _, tc := range tests {
		fresh := PriorityOf(tc.class)
		if fresh != tc.wantFresh {
			t.Errorf("PriorityOf(%s) = %d, want %d", tc.class, fresh, tc.wantFresh)
		}
		retry := retryPriority(fresh)
		if retry != tc.wantRetry {
			t.Errorf("retryPriority(%d) = %d, want %d", fresh, retry, tc.wantRetry)
		}
		// A retry goes round again, at the same level.
		if again := retryPriority(retry); again != retry {
			t.Errorf("retryPriority(%d) = %d, want it unchanged", retry, again)
		}
		if retry > maxPriority {
			t.Errorf("%s retry priority %d above the queue's maximum %d", tc.class, retry, maxPriority)
		}
	}
	// Booth above every online priority, retried or not; a retried online
	// job above the online backlog.
	online, booth := PriorityOf(jobs.Online), PriorityOf(jobs.Booth)
	if online >= retryPriority(online) || retryPriority(online) >= booth {
		t.Errorf("online %d, retried online %d, booth %d: want strictly increasing", online, retryPriority(online), booth)
	}
}
