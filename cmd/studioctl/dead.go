package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
	"time"

	"cloud.google.com/go/firestore"

	"github.com/tigerstudio/studio/cmd/studioctl/internal/admindb"
	"github.com/tigerstudio/studio/infra/jobs"
	"github.com/tigerstudio/studio/infra/queue"
	"github.com/tigerstudio/studio/infra/store"
)

const deadAbout = `list: every message of the dead-letter queue <prefix>.dead (left in place)
with its x-death reason and the job's error document (code, message,
attempts) and status; then the event's failed jobs whose letter is gone (the
queue keeps 10 000 letters for 14 days, so the error documents are the
record).

requeue ID...: gives failed jobs a fresh attempt budget and puts them back in
the job queue, once each:
  1. in one Firestore transaction, refused if the job has a succeeded response
     (never a second result) or is running without an error document (a
     worker holds it): delete errors/{id}, responses/{id} (the attempt count)
     and notifications/{id} (so the owner hears of the new outcome);
  2. publish {jobId, event, priority} as the Gateway does (persistent,
     message-id = job id, the job's priority) and wait for the broker's
     confirm;
  3. only then remove the job's letters from the dead-letter queue.
A requeue interrupted between steps can be run again: a job left queued is
published again (the worker acks a copy of a finished job without work and
writes one result per job). With --all, every job that has a dead letter.`

func runDead(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags("dead", "dead list [--json] | dead requeue [--all] [ID...]", deadAbout)
	asJSON := fs.Bool("json", false, "list: print JSON")
	all := fs.Bool("all", false, "requeue: every job with a letter in the dead-letter queue")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return errors.New("dead: want list or requeue")
	}
	verb := fs.Arg(0)
	if err := fs.Parse(fs.Args()[1:]); err != nil {
		return err
	}
	if err := c.cfg.Need("dead", NeedEvent, NeedBroker, NeedQPrefix); err != nil {
		return err
	}
	ids := fs.Args()
	switch {
	case verb == "list" && len(ids) != 0:
		return errors.New("dead list takes no arguments")
	case verb == "requeue" && len(ids) == 0 && !*all:
		fs.Usage()
		return errors.New("dead requeue: name the jobs, or --all")
	case verb == "requeue" && len(ids) > 0 && *all:
		return errors.New("dead requeue: either IDs or --all")
	case verb != "list" && verb != "requeue":
		fs.Usage()
		return fmt.Errorf("dead: unknown verb %q (want list or requeue)", verb)
	}
	fsc, err := openFirestore(ctx, c.cfg)
	if err != nil {
		return err
	}
	defer fsc.Close()
	if verb == "list" {
		return deadList(ctx, c, fsc, *asJSON)
	}
	return deadRequeue(ctx, c, fsc, ids, *all)
}

// DeadEntry is one dead-lettered job as list reports it.
type DeadEntry struct {
	Letter *deadLetter   `json:"letter,omitempty"` // nil: the letter is gone
	JobID  string        `json:"jobId"`
	Status jobs.Status   `json:"status,omitempty"` // empty: no request document
	Error  *jobs.Failure `json:"error,omitempty"`
}

func deadList(ctx context.Context, c *cli, fsc *firestore.Client, asJSON bool) error {
	b, err := dialBroker(c.cfg.AMQPURL)
	if err != nil {
		return fmt.Errorf("dead list: %w", err)
	}
	defer b.Close()
	letters, _, err := b.walkDead(ctx, c.cfg.Topology().DeadQueue(), nil)
	if err != nil {
		return fmt.Errorf("dead list: %w", err)
	}
	entries, err := deadEntries(ctx, fsc, c.cfg.Event, letters)
	if err != nil {
		return fmt.Errorf("dead list: %w", err)
	}
	if asJSON {
		if entries == nil {
			entries = []DeadEntry{}
		}
		return c.printJSON(entries)
	}
	if err := printDead(c.stdout, entries); err != nil {
		return err
	}
	fmt.Fprintf(c.stderr, "%d dead letters in %s; %d failed jobs of event %s without one\n",
		len(letters), c.cfg.Topology().DeadQueue(), len(entries)-len(letters), c.cfg.Event)
	return nil
}

// deadEntries joins the dead letters with their jobs, and adds the
// event's failed jobs whose letter is gone.
func deadEntries(ctx context.Context, fsc *firestore.Client, event string, letters []deadLetter) ([]DeadEntry, error) {
	var entries []DeadEntry
	lettered := map[string]bool{}
	for i := range letters {
		l := &letters[i]
		e := DeadEntry{Letter: l, JobID: l.JobID}
		lettered[l.JobID] = true
		if jobs.CheckID(l.JobID) == nil {
			j, err := store.NewReader(fsc).Job(ctx, l.JobID)
			switch {
			case errors.Is(err, store.ErrNotFound):
			case err != nil:
				return nil, err
			default:
				e.Status, e.Error = j.Status(), j.Failure
			}
		}
		entries = append(entries, e)
	}
	// Failed jobs of the event whose letter is gone.
	err := eachJobs(ctx, fsc, event, func(page []store.Job) error {
		for _, j := range page {
			if j.Failure != nil && !lettered[j.ID] {
				entries = append(entries, DeadEntry{JobID: j.ID, Status: j.Status(), Error: j.Failure})
			}
		}
		return nil
	})
	return entries, err
}

// printDead writes the entries as a table.
func printDead(w io.Writer, entries []DeadEntry) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "JOB\tSTATUS\tLETTER\tDIED\tCODE\tMESSAGE")
	for _, e := range entries {
		letter, died, code, msg, status := "(gone)", "", "", "", string(e.Status)
		if e.Letter != nil {
			letter = fmt.Sprintf("%s in %s", e.Letter.Reason, e.Letter.Queue)
			if !e.Letter.Time.IsZero() {
				died = e.Letter.Time.Format(time.RFC3339)
			}
		}
		if status == "" {
			status = "(no request)"
		}
		if e.Error != nil {
			code, msg = e.Error.Code, e.Error.Message
			if e.Letter == nil {
				died = e.Error.FailedAt.UTC().Format(time.RFC3339)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.JobID, status, letter, died, code, msg)
	}
	return tw.Flush()
}

func deadRequeue(ctx context.Context, c *cli, fsc *firestore.Client, ids []string, all bool) error {
	topo := c.cfg.Topology()
	if all {
		b, err := dialBroker(c.cfg.AMQPURL)
		if err != nil {
			return fmt.Errorf("dead requeue: %w", err)
		}
		letters, _, err := b.walkDead(ctx, topo.DeadQueue(), nil)
		b.Close()
		if err != nil {
			return fmt.Errorf("dead requeue: %w", err)
		}
		for _, l := range letters {
			if !slices.Contains(ids, l.JobID) {
				ids = append(ids, l.JobID)
			}
		}
	}
	pub := queue.NewPublisher(c.cfg.AMQPURL, topo)
	defer pub.Close()
	admin := admindb.NewWriter(fsc)
	requeued := map[string]bool{}
	var failed []error
	for _, id := range ids {
		if err := requeueOne(ctx, admin, pub, c.cfg.Event, id); err != nil {
			failed = append(failed, fmt.Errorf("%s: %w", id, err))
			fmt.Fprintf(c.stderr, "refused %s: %v\n", id, err)
			continue
		}
		requeued[id] = true
		fmt.Fprintf(c.stdout, "requeued %s\n", id)
	}
	if len(requeued) > 0 {
		// Only now, after each republish was confirmed, are the letters
		// removed.
		b, err := dialBroker(c.cfg.AMQPURL)
		if err != nil {
			return fmt.Errorf("dead requeue: jobs requeued, their letters not removed: %w", err)
		}
		defer b.Close()
		_, removed, err := b.walkDead(ctx, topo.DeadQueue(), func(l deadLetter) bool { return requeued[l.JobID] })
		if err != nil {
			return fmt.Errorf("dead requeue: jobs requeued, their letters not all removed: %w", err)
		}
		fmt.Fprintf(c.stderr, "%d jobs requeued, %d dead letters removed\n", len(requeued), removed)
	}
	if len(failed) > 0 {
		return fmt.Errorf("dead requeue: %d of %d refused or failed: %w", len(failed), len(ids), errors.Join(failed...))
	}
	return nil
}

// requeueOne restores the job's attempt budget and publishes its message.
func requeueOne(ctx context.Context, w *admindb.Writer, pub *queue.Publisher, event, id string) error {
	req, err := w.ResetAttempts(ctx, event, id)
	if err != nil {
		return fmt.Errorf("reset attempts: %w", err)
	}
	msg := jobs.Message{JobID: id, Event: req.Event, Priority: req.Priority}
	if msg.Priority == "" {
		msg.Priority = jobs.Online
	}
	if err := pub.Publish(ctx, msg); err != nil {
		return fmt.Errorf("attempts reset but not republished (run requeue again): %w", err)
	}
	return nil
}
