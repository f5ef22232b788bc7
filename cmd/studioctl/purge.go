package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"cloud.google.com/go/firestore"
	"cloud.google.com/go/storage"

	"github.com/tigerstudio/studio/cmd/studioctl/internal/admindb"
	"github.com/tigerstudio/studio/infra/clients"
	"github.com/tigerstudio/studio/infra/jobs"
	"github.com/tigerstudio/studio/infra/store"
)

const purgeAbout = `Deletes the event's data: for each job whose request names the event, its
objects (inputs in INPUT_BUCKET first, then outputs in OUTPUT_BUCKET: every
object under <jobId>/, which covers every attempt's files), then its
documents: notifications, errors, responses and, last, the request. The
request goes last so an interrupted purge finds the rest again: run it again
to resume; a finished one deletes nothing more.

With --expired it deletes only the jobs past their expireAt (the event's
retention after each job's creation): what Firestore's TTL policy and the
buckets' lifecycle delete in the cloud, done by hand where neither runs (the
emulators), or to catch up before the TTL's sweep (which may lag a day).

Without --yes it is a dry run: it counts what it would delete and deletes
nothing. It refuses while any of the event's jobs is queued or running (a
worker could write after the purge) unless --force. Users' devices/{uid} and
quotas/{uid} are not per event and are left alone.`

// PurgeCounts says what a purge deleted, or would delete.
type PurgeCounts struct {
	Event         string `json:"event"`
	DryRun        bool   `json:"dryRun"`
	Jobs          int    `json:"jobs"`
	Requests      int    `json:"requests"`
	Responses     int    `json:"responses"`
	Errors        int    `json:"errors"`
	Notifications int    `json:"notifications"`
	Inputs        int    `json:"inputs"`
	Outputs       int    `json:"outputs"`
}

func (p PurgeCounts) documents() int { return p.Requests + p.Responses + p.Errors + p.Notifications }
func (p PurgeCounts) objects() int   { return p.Inputs + p.Outputs }

var errUnfinished = errors.New("jobs still queued or running")

func runPurge(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags("purge", "purge --event NAME [--yes] [--force] [--expired] [--json]", purgeAbout)
	event := fs.String("event", "", "the event to purge (required; not taken from EVENT, on purpose)")
	yes := fs.Bool("yes", false, "delete (without it: a dry run)")
	force := fs.Bool("force", false, "purge even while jobs are queued or running")
	expired := fs.Bool("expired", false, "only the jobs past their expireAt (the event's retention)")
	asJSON := fs.Bool("json", false, "print the counts as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 || *event == "" {
		fs.Usage()
		return errors.New("purge: want --event NAME and no arguments")
	}
	if err := c.cfg.Need("purge", NeedInput, NeedOutput); err != nil {
		return err
	}
	cl, err := clients.Open(ctx, c.cfg.Project)
	if err != nil {
		return err
	}
	defer cl.Close()
	fsc, gcs := cl.Firestore, cl.Storage

	p := &purger{fs: fsc, admin: admindb.NewWriter(fsc), gcs: gcs, input: c.cfg.InputBucket, output: c.cfg.OutputBucket, dryRun: !*yes}
	if *expired {
		p.expiredBy = time.Now()
	}
	counts, err := p.run(ctx, *event, *force, func(done PurgeCounts) {
		fmt.Fprintf(c.stderr, "%d jobs, %d documents, %d objects so far\n", done.Jobs, done.documents(), done.objects())
	})
	if err != nil {
		return fmt.Errorf("purge %s: %w", *event, err)
	}
	if *asJSON {
		return c.printJSON(counts)
	}
	verb := "deleted"
	if counts.DryRun {
		verb = "dry run: would delete"
	}
	fmt.Fprintf(c.stdout, "%s %d documents (%d requests, %d responses, %d errors, %d notifications) and %d objects (%d inputs, %d outputs) of %d jobs of event %s\n",
		verb, counts.documents(), counts.Requests, counts.Responses, counts.Errors, counts.Notifications,
		counts.objects(), counts.Inputs, counts.Outputs, counts.Jobs, counts.Event)
	if counts.DryRun && counts.Jobs > 0 {
		fmt.Fprintln(c.stdout, "run again with --yes to delete")
	}
	return nil
}

type purger struct {
	fs            *firestore.Client
	admin         *admindb.Writer
	gcs           *storage.Client
	input, output string
	dryRun        bool
	// expiredBy, when set, limits the purge to jobs whose expireAt is at or
	// before it; jobs without one (written before retention was recorded)
	// are kept.
	expiredBy time.Time
}

// selected is the part of page the purge is about.
func (p *purger) selected(page []store.Job) []store.Job {
	if p.expiredBy.IsZero() {
		return page
	}
	return slices.DeleteFunc(slices.Clone(page), func(j store.Job) bool {
		return j.Request.ExpireAt.IsZero() || j.Request.ExpireAt.After(p.expiredBy)
	})
}

func (p *purger) run(ctx context.Context, event string, force bool, progress func(PurgeCounts)) (PurgeCounts, error) {
	counts := PurgeCounts{Event: event, DryRun: p.dryRun}
	if !force {
		var unfinished int
		err := eachJobs(ctx, p.fs, event, func(page []store.Job) error {
			for _, j := range p.selected(page) {
				if s := j.Status(); s == jobs.Queued || s == jobs.Running {
					unfinished++
				}
			}
			return nil
		})
		if err != nil {
			return counts, err
		}
		if unfinished > 0 {
			return counts, fmt.Errorf("%w: %d (wait for them, or --force)", errUnfinished, unfinished)
		}
	}
	err := eachJobs(ctx, p.fs, event, func(page []store.Job) error {
		page = p.selected(page)
		if len(page) == 0 {
			return nil
		}
		if err := p.page(ctx, page, &counts); err != nil {
			return err
		}
		progress(counts)
		return nil
	})
	return counts, err
}

// page purges one page of jobs: inputs, outputs, then the documents, the
// requests last.
func (p *purger) page(ctx context.Context, page []store.Job, counts *PurgeCounts) error {
	counts.Jobs += len(page)
	for _, side := range []struct {
		bucket string
		n      *int
		named  func(store.Job) []string
	}{
		{p.input, &counts.Inputs, func(j store.Job) []string { return []string{j.Request.Input} }},
		{p.output, &counts.Outputs, func(j store.Job) []string {
			var names []string
			if j.Response != nil {
				for _, o := range j.Response.Outputs {
					names = append(names, o.Name)
				}
			}
			return names
		}},
	} {
		for _, j := range page {
			n, err := p.objects(ctx, side.bucket, j.ID, side.named(j))
			*side.n += n
			if err != nil {
				return err
			}
		}
	}

	// Documents other than the requests, then the requests.
	var refs []*firestore.DocumentRef
	for _, j := range page {
		refs = append(refs, p.fs.Collection(store.Notifications).Doc(j.ID))
	}
	notes, err := p.fs.GetAll(ctx, refs)
	if err != nil {
		return fmt.Errorf("read notifications: %w", err)
	}
	var docs []admindb.Doc
	for i, j := range page {
		if notes[i].Exists() {
			docs = append(docs, admindb.Doc{Collection: store.Notifications, ID: j.ID})
			counts.Notifications++
		}
		if j.Failure != nil {
			docs = append(docs, admindb.Doc{Collection: store.Errors, ID: j.ID})
			counts.Errors++
		}
		if j.Response != nil {
			docs = append(docs, admindb.Doc{Collection: store.Responses, ID: j.ID})
			counts.Responses++
		}
		docs = append(docs, admindb.Doc{Collection: store.Requests, ID: j.ID})
		counts.Requests++
	}
	if p.dryRun {
		return nil
	}
	return p.admin.DeleteJobDocs(ctx, docs)
}

// objects deletes (or counts) the job's objects in bucket: everything under
// <jobId>/ and the names its documents give.
func (p *purger) objects(ctx context.Context, bucket, jobID string, named []string) (int, error) {
	names, err := listObjects(ctx, p.gcs, bucket, jobID+"/")
	if err != nil {
		return 0, err
	}
	for _, n := range named {
		if n == "" || slices.Contains(names, n) {
			continue
		}
		if _, err := p.gcs.Bucket(bucket).Object(n).Attrs(ctx); err == nil {
			names = append(names, n)
		} else if !errors.Is(err, storage.ErrObjectNotExist) {
			return 0, fmt.Errorf("stat gs://%s/%s: %w", bucket, n, err)
		}
	}
	if p.dryRun {
		return len(names), nil
	}
	var deleted int
	for _, n := range names {
		err := p.gcs.Bucket(bucket).Object(n).Delete(ctx)
		if errors.Is(err, storage.ErrObjectNotExist) {
			continue // gone meanwhile: not ours to count
		}
		if err != nil {
			return deleted, fmt.Errorf("delete gs://%s/%s: %w", bucket, n, err)
		}
		deleted++
	}
	return deleted, nil
}
