package worker_test

import (
	"testing"
	"time"

	"github.com/tigerstudio/studio/infra/jobs"
	"github.com/tigerstudio/studio/worker"
)

// BenchmarkGPUBusy: a worker at the service's defaults (two slots, one GPU
// turn, preemption on) works through a backlog of online jobs whose
// generation is the builtin watercolour style's CPU steps around a
// stand-in model run of gpuTime (gpuProbe: a stand-in GPU, not CUDA).
// gpu-busy is the time inside model runs over the wall time of
// backlogRuns model runs, once the worker is under way; with only the
// model runs under the GPU gate, the next job's download, decode and CPU
// steps and the last one's encode and upload overlap the run in progress.
func BenchmarkGPUBusy(b *testing.B) {
	for _, tc := range []struct {
		name   string
		config func(*worker.Config)
	}{
		{"defaults", nil},
		{"slots=3", func(c *worker.Config) { c.Slots = 3 }},
		{"slots=4", func(c *worker.Config) { c.Slots = 4 }},
	} {
		b.Run(tc.name, func(b *testing.B) { gpuBusy(b, tc.config) })
	}
}

func gpuBusy(b *testing.B, config func(*worker.Config)) {
	h := newHarness(b)
	photo := portrait(b, 512, 512)
	desk := newBoothDesk(b, h, photo)
	const backlogRuns = 30
	for range b.N*(backlogRuns+2) + 4 { // outlasts the measurement
		desk.enqueue(b, boothStyle, jobs.Online)
	}
	gpu := &gpuProbe{next: filters(b), changed: make(chan struct{}), starts: map[string]time.Time{}}
	h.startWorker(b, workerOpts{generator: gpu, wrap: tagJob, config: config})
	var busy share
	b.ResetTimer()
	for range b.N {
		from := gpu.waitGenerations(b, gpu.generations()+2) // under way
		to := gpu.waitGenerations(b, gpu.generations()+backlogRuns)
		busy.add(gpu, from, to)
	}
	b.StopTimer()
	b.ReportMetric(busy.percent(busy.held), "gpu-busy-%")
	b.ReportMetric(float64(gpuTime.Milliseconds()), "model-run-ms")
}
