package main

import (
	"context"
	"errors"
	"fmt"

	"cloud.google.com/go/firestore"
	"cloud.google.com/go/storage"
	"google.golang.org/api/iterator"

	"github.com/tigerstudio/studio/infra/jobs"
	"github.com/tigerstudio/studio/infra/store"
)

// openFirestore opens a Firestore client (the emulator when
// FIRESTORE_EMULATOR_HOST is set).
func openFirestore(ctx context.Context, cfg Config) (*firestore.Client, error) {
	fs, err := firestore.NewClient(ctx, cfg.Project)
	if err != nil {
		return nil, fmt.Errorf("firestore.NewClient: %w", err)
	}
	return fs, nil
}

// jobPage is how many jobs are read per round trip.
const jobPage = 200

// eachJobs calls f with the event's jobs (request, response, error), a page
// at a time in document id order. Only reads.
func eachJobs(ctx context.Context, fs *firestore.Client, event string, f func([]store.Job) error) error {
	var after string
	for {
		q := fs.Collection(store.Requests).Where("event", "==", event).OrderBy(firestore.DocumentID, firestore.Asc)
		if after != "" {
			q = q.StartAfter(after)
		}
		snaps, err := q.Limit(jobPage).Documents(ctx).GetAll()
		if err != nil {
			return fmt.Errorf("list requests of event %s: %w", event, err)
		}
		if len(snaps) == 0 {
			return nil
		}
		page, err := loadJobs(ctx, fs, snaps)
		if err != nil {
			return err
		}
		if err := f(page); err != nil {
			return err
		}
		if len(snaps) < jobPage {
			return nil
		}
		after = snaps[len(snaps)-1].Ref.ID
	}
}

// eventJobs returns all the event's jobs.
func eventJobs(ctx context.Context, fs *firestore.Client, event string) ([]store.Job, error) {
	var all []store.Job
	err := eachJobs(ctx, fs, event, func(page []store.Job) error {
		all = append(all, page...)
		return nil
	})
	return all, err
}

// loadJobs decodes the requests and reads their responses and errors in one
// round trip.
func loadJobs(ctx context.Context, fs *firestore.Client, reqs []*firestore.DocumentSnapshot) ([]store.Job, error) {
	refs := make([]*firestore.DocumentRef, 0, 2*len(reqs))
	for _, s := range reqs {
		refs = append(refs, fs.Collection(store.Responses).Doc(s.Ref.ID), fs.Collection(store.Errors).Doc(s.Ref.ID))
	}
	snaps, err := fs.GetAll(ctx, refs)
	if err != nil {
		return nil, fmt.Errorf("read responses and errors: %w", err)
	}
	out := make([]store.Job, len(reqs))
	for i, s := range reqs {
		j := store.Job{ID: s.Ref.ID}
		if err := s.DataTo(&j.Request); err != nil {
			return nil, fmt.Errorf("decode request %s: %w", j.ID, err)
		}
		if resp := snaps[2*i]; resp.Exists() {
			j.Response = new(jobs.Response)
			if err := resp.DataTo(j.Response); err != nil {
				return nil, fmt.Errorf("decode response %s: %w", j.ID, err)
			}
		}
		if e := snaps[2*i+1]; e.Exists() {
			j.Failure = new(jobs.Failure)
			if err := e.DataTo(j.Failure); err != nil {
				return nil, fmt.Errorf("decode error %s: %w", j.ID, err)
			}
		}
		out[i] = j
	}
	return out, nil
}

// listObjects returns the names of the objects in bucket under prefix.
func listObjects(ctx context.Context, gcs *storage.Client, bucket, prefix string) ([]string, error) {
	var names []string
	it := gcs.Bucket(bucket).Objects(ctx, &storage.Query{Prefix: prefix})
	for {
		o, err := it.Next()
		if errors.Is(err, iterator.Done) {
			return names, nil
		}
		if err != nil {
			return nil, fmt.Errorf("list gs://%s/%s: %w", bucket, prefix, err)
		}
		names = append(names, o.Name)
	}
}
