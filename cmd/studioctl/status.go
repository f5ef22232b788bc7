package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"text/tabwriter"
	"time"

	"cloud.google.com/go/firestore"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tigerstudio/studio/infra/jobs"
	"github.com/tigerstudio/studio/infra/store"
)

const statusAbout = `Shows the event's jobs by state (derived as DESIGN.md says: error document ->
failed, response succeeded -> succeeded, running -> running, else queued) and
priority; the broker's queues: the job queue's ready messages and consumers,
the retry queue (retried jobs waiting out their backoff) and the dead-letter
queue; the jobs in flight (running responses); and the last 10 minutes'
throughput and photo-to-result times (responses' timings.totalMs); and the
event's spend on generated styles: the images a hosted model drew and what
they cost at list price (responses' costUSD, written by the worker), beside
what the Gateway reserved for the generated jobs it accepted (budgets/{event},
which GENERATED_BUDGET_USD caps).

AMQP's passive queue.declare reports only a queue's total of ready messages,
not the count per priority (RabbitMQ's management API is not enabled on the
stack's broker), so the split by priority is the queued jobs' as Firestore
records them; the two differ by messages in a worker's hands or in the retry
queue, and by duplicates.`

// window is the span of the recent figures.
const window = 10 * time.Minute

// Status is one snapshot of the event.
type Status struct {
	Event   string     `json:"event"`
	At      time.Time  `json:"at"`
	Jobs    JobCounts  `json:"jobs"`
	Queue   queueInfo  `json:"queue"`
	Retry   queueInfo  `json:"retry"`
	Dead    queueInfo  `json:"dead"`
	Running []InFlight `json:"inFlight"`
	Recent  Recent     `json:"recent"`
	Spend   Spend      `json:"spend"`
}

// Spend is the event's spend on generated styles, at list price.
type Spend struct {
	// Images and CostUSD are the succeeded jobs a hosted model drew and
	// what the worker recorded they cost.
	Images  int     `json:"images"`
	CostUSD float64 `json:"costUSD"`
	// ReservedUSD is what the Gateway counted against the event's budget:
	// every generated job it accepted, including those still queued or
	// that failed before their call.
	ReservedUSD  float64 `json:"reservedUSD"`
	ReservedJobs int64   `json:"reservedJobs"`
}

// JobCounts counts jobs by status, then priority.
type JobCounts map[jobs.Status]map[jobs.Priority]int

// InFlight is a job with a running response.
type InFlight struct {
	ID        string        `json:"id"`
	Priority  jobs.Priority `json:"priority"`
	Style     string        `json:"style"`
	Attempt   int           `json:"attempt"`
	StartedAt time.Time     `json:"startedAt"`
}

// Recent are the figures of the last window.
type Recent struct {
	Window    string  `json:"window"`
	Succeeded int     `json:"succeeded"`
	Failed    int     `json:"failed"`
	PerMinute float64 `json:"perMinute"`
	P50Ms     int64   `json:"p50Ms"`
	P95Ms     int64   `json:"p95Ms"`
}

func runStatus(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags("status", "status [--watch] [--interval D] [--json]", statusAbout)
	watch := fs.Bool("watch", false, "refresh every --interval until Ctrl-C")
	interval := fs.Duration("interval", 3*time.Second, "refresh interval of --watch")
	asJSON := fs.Bool("json", false, "print the snapshot as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return fmt.Errorf("status takes no arguments")
	}
	if *interval < 500*time.Millisecond {
		return fmt.Errorf("status: --interval %s is too short (at least 500ms)", *interval)
	}
	if err := c.cfg.Need("status", NeedEvent, NeedBroker, NeedQPrefix); err != nil {
		return err
	}
	fsc, err := openFirestore(ctx, c.cfg)
	if err != nil {
		return err
	}
	defer fsc.Close()
	show := func() error {
		st, err := snapshot(ctx, fsc, c.cfg, time.Now())
		if err != nil {
			return err
		}
		if *asJSON {
			return c.printJSON(st)
		}
		if *watch {
			fmt.Fprint(c.stdout, "\033[H\033[2J") // clear the terminal
		}
		st.print(c.stdout)
		return nil
	}
	if err := show(); err != nil {
		return err
	}
	if !*watch {
		return nil
	}
	return repeatEvery(ctx, *interval, show)
}

// repeatEvery runs show at each interval until ctx ends (Ctrl-C ends a watch
// normally) or show fails.
func repeatEvery(ctx context.Context, interval time.Duration, show func() error) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if err := show(); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
		}
	}
}

// snapshot reads the event's jobs and the broker's queues.
func snapshot(ctx context.Context, fsc *firestore.Client, cfg Config, now time.Time) (Status, error) {
	st := Status{Event: cfg.Event, At: now.UTC(), Jobs: JobCounts{}, Running: []InFlight{}}
	all, err := eventJobs(ctx, fsc, cfg.Event)
	if err != nil {
		return Status{}, fmt.Errorf("status: %w", err)
	}
	st.Jobs, st.Running, st.Recent = summarise(all, now)
	if st.Spend, err = spend(ctx, fsc, cfg.Event, all); err != nil {
		return Status{}, fmt.Errorf("status: %w", err)
	}

	b, err := dialBroker(cfg.AMQPURL)
	if err != nil {
		return Status{}, fmt.Errorf("status: %w", err)
	}
	defer b.Close()
	topo := cfg.Topology()
	for _, q := range []struct {
		name string
		into *queueInfo
	}{{topo.Queue(), &st.Queue}, {topo.RetryQueue(), &st.Retry}, {topo.DeadQueue(), &st.Dead}} {
		info, err := b.inspect(q.name)
		if err != nil {
			return Status{}, fmt.Errorf("status: %w", err)
		}
		*q.into = info
	}
	return st, nil
}

// summarise counts jobs by status and priority, lists the running ones and
// computes the window's figures.
func summarise(all []store.Job, now time.Time) (JobCounts, []InFlight, Recent) {
	counts := JobCounts{}
	running := []InFlight{}
	recent := Recent{Window: window.String()}
	var totals []int64
	since := now.Add(-window)
	for _, j := range all {
		s := j.Status()
		if counts[s] == nil {
			counts[s] = map[jobs.Priority]int{}
		}
		counts[s][j.Request.Priority]++
		switch s {
		case jobs.Running:
			running = append(running, InFlight{ID: j.ID, Priority: j.Request.Priority, Style: j.Request.Style,
				Attempt: j.Response.Attempt, StartedAt: j.Response.StartedAt})
		case jobs.Succeeded:
			if !j.Response.CompletedAt.Before(since) {
				recent.Succeeded++
				if j.Response.Timings != nil {
					totals = append(totals, j.Response.Timings.TotalMs)
				}
			}
		case jobs.Failed:
			if !j.Failure.FailedAt.Before(since) {
				recent.Failed++
			}
		}
	}
	slices.SortFunc(running, func(a, b InFlight) int { return a.StartedAt.Compare(b.StartedAt) })
	recent.PerMinute = float64(recent.Succeeded) / window.Minutes()
	slices.Sort(totals)
	recent.P50Ms, recent.P95Ms = percentile(totals, 50), percentile(totals, 95)
	return counts, running, recent
}

// spend sums the generated images' cost from the responses and reads the
// Gateway's reservations.
func spend(ctx context.Context, fsc *firestore.Client, event string, all []store.Job) (Spend, error) {
	var s Spend
	var micros int64
	for _, j := range all {
		if j.Response != nil && j.Response.State == jobs.StateSucceeded && j.Response.CostUSD > 0 {
			s.Images++
			micros += int64(math.Round(j.Response.CostUSD * 1e6))
		}
	}
	s.CostUSD = float64(micros) / 1e6
	snap, err := fsc.Collection(store.Budgets).Doc(event).Get(ctx)
	switch {
	case status.Code(err) == codes.NotFound:
		return s, nil
	case err != nil:
		return Spend{}, fmt.Errorf("read the event's budget: %w", err)
	}
	var b struct {
		ReservedMicros int64 `firestore:"reservedMicros"`
		Jobs           int64 `firestore:"jobs"`
	}
	if err := snap.DataTo(&b); err != nil {
		return Spend{}, fmt.Errorf("decode the event's budget: %w", err)
	}
	s.ReservedUSD, s.ReservedJobs = float64(b.ReservedMicros)/1e6, b.Jobs
	return s, nil
}

// percentile is the nearest-rank percentile of sorted values, 0 if none.
func percentile(sorted []int64, p int) int64 {
	if len(sorted) == 0 {
		return 0
	}
	rank := (p*len(sorted) + 99) / 100 // ceil(p/100 * n)
	return sorted[max(rank, 1)-1]
}

func (st Status) print(w io.Writer) {
	fmt.Fprintf(w, "event %s at %s\n\n", st.Event, st.At.Format(time.RFC3339))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "jobs\tbooth\tonline\ttotal\t")
	var sum [3]int
	for _, s := range []jobs.Status{jobs.Queued, jobs.Running, jobs.Succeeded, jobs.Failed} {
		b, o := st.Jobs[s][jobs.Booth], st.Jobs[s][jobs.Online]
		sum[0], sum[1], sum[2] = sum[0]+b, sum[1]+o, sum[2]+b+o
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t\n", s, b, o, b+o)
	}
	fmt.Fprintf(tw, "total\t%d\t%d\t%d\t\n", sum[0], sum[1], sum[2])
	tw.Flush()

	fmt.Fprintf(w, "\nbroker\n")
	fmt.Fprintf(w, "  %s: %d ready, %d consumers (AMQP gives the total only; by priority see queued above)\n",
		st.Queue.Name, st.Queue.Ready, st.Queue.Consumers)
	fmt.Fprintf(w, "  %s: %d retried jobs waiting out their backoff\n", st.Retry.Name, st.Retry.Ready)
	fmt.Fprintf(w, "  %s: %d dead letters (studioctl dead list)\n", st.Dead.Name, st.Dead.Ready)

	fmt.Fprintf(w, "\nin flight: %d\n", len(st.Running))
	for _, r := range st.Running {
		fmt.Fprintf(w, "  %s  %-6s  %-12s attempt %d, started %s ago\n", r.ID, r.Priority, r.Style, r.Attempt,
			st.At.Sub(r.StartedAt).Round(time.Second))
	}

	fmt.Fprintf(w, "\nlast %s: %d succeeded (%.1f/min), %d failed", st.Recent.Window, st.Recent.Succeeded,
		st.Recent.PerMinute, st.Recent.Failed)
	if st.Recent.Succeeded > 0 {
		fmt.Fprintf(w, "; photo to result p50 %s, p95 %s", ms(st.Recent.P50Ms), ms(st.Recent.P95Ms))
	}
	fmt.Fprintln(w)

	fmt.Fprintf(w, "\ngenerated images (hosted model, list price): %d drawn, $%.2f; the Gateway reserved $%.2f for %d accepted generated jobs\n",
		st.Spend.Images, st.Spend.CostUSD, st.Spend.ReservedUSD, st.Spend.ReservedJobs)
}

func ms(v int64) time.Duration {
	return (time.Duration(v) * time.Millisecond).Round(10 * time.Millisecond)
}
