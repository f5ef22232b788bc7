package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"cloud.google.com/go/storage"

	"github.com/tigerstudio/studio/infra/clients"
	"github.com/tigerstudio/studio/infra/jobs"
	"github.com/tigerstudio/studio/infra/store"
)

const exportAbout = `Downloads every output of the event's succeeded jobs from OUTPUT_BUCKET into
DIR, under the object's own name (DIR/<jobId>/<file>), and writes
DIR/manifest.json and DIR/manifest.csv: one row per file with the job, its
owner (uid, and the email the results were sent to: requests.notify.email),
style, priority, when the photo was submitted and when the result was ready.
A file already in DIR with the object's size is not downloaded again, so an
interrupted export can be run again. Progress goes to stderr.

The files hold people's portraits and email addresses: they are written 0600
and the folders export creates 0700, readable by the operator alone (a DIR
that exists keeps its mode; the files in it are 0600 all the same).`

// ManifestEntry is one exported file.
type ManifestEntry struct {
	File        string        `json:"file"` // relative to DIR
	Object      string        `json:"object"`
	JobID       string        `json:"jobId"`
	UID         string        `json:"uid"`
	Email       string        `json:"email"`
	Style       string        `json:"style"`
	Priority    jobs.Priority `json:"priority"`
	ContentType string        `json:"contentType"`
	Width       int           `json:"width"`
	Height      int           `json:"height"`
	CreatedAt   time.Time     `json:"createdAt"`
	CompletedAt time.Time     `json:"completedAt"`
}

// maxOutputBytes bounds one download.
const maxOutputBytes = 256 << 20

// The modes of what export writes: portraits and email addresses are
// personal data, for the operator's account alone, whatever the umask.
const (
	exportDirMode  os.FileMode = 0o700
	exportFileMode os.FileMode = 0o600
)

func runExport(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags("export", "export [--every N] DIR", exportAbout)
	every := fs.Int("every", 10, "print progress every N files")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errors.New("export: want one DIR")
	}
	if *every < 1 {
		return errors.New("export: --every must be at least 1")
	}
	if err := c.cfg.Need("export", NeedEvent, NeedOutput); err != nil {
		return err
	}
	dir := fs.Arg(0)
	if err := os.MkdirAll(dir, exportDirMode); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	cl, err := clients.Open(ctx, c.cfg.Project)
	if err != nil {
		return err
	}
	defer cl.Close()
	fsc, gcs := cl.Firestore, cl.Storage

	all, err := eventJobs(ctx, fsc, c.cfg.Event)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	var todo []ManifestEntry
	for _, j := range all {
		if j.Status() != jobs.Succeeded {
			continue
		}
		for _, o := range j.Response.Outputs {
			todo = append(todo, entryOf(j, o))
		}
	}
	fmt.Fprintf(c.stderr, "exporting %d files of event %s to %s\n", len(todo), c.cfg.Event, dir)
	manifest, fetched, missing, err := fetchOutputs(ctx, c, gcs.Bucket(c.cfg.OutputBucket), dir, todo, *every)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if err := writeManifest(dir, manifest); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	fmt.Fprintf(c.stdout, "exported %d files (%d downloaded, %d already there, %d missing) and %s, %s\n",
		len(manifest), fetched, len(manifest)-fetched, missing,
		filepath.Join(dir, "manifest.json"), filepath.Join(dir, "manifest.csv"))
	if missing > 0 {
		return fmt.Errorf("export: %d outputs missing from gs://%s", missing, c.cfg.OutputBucket)
	}
	return nil
}

// fetchOutputs downloads todo's objects into dir (a file already there is
// kept), printing progress every so many files, and returns the entries
// it has, how many it downloaded and how many objects were missing.
func fetchOutputs(ctx context.Context, c *cli, bucket *storage.BucketHandle, dir string, todo []ManifestEntry, every int) (manifest []ManifestEntry, fetched, missing int, err error) {
	manifest = make([]ManifestEntry, 0, len(todo))
	for i, e := range todo {
		got, err := download(ctx, bucket, e.Object, filepath.Join(dir, filepath.FromSlash(e.File)))
		switch {
		case errors.Is(err, storage.ErrObjectNotExist):
			missing++
			fmt.Fprintf(c.stderr, "missing gs://%s/%s (job %s)\n", c.cfg.OutputBucket, e.Object, e.JobID)
		case err != nil:
			return nil, 0, 0, err
		default:
			if got {
				fetched++
			}
			manifest = append(manifest, e)
		}
		if n := i + 1; n%every == 0 || n == len(todo) {
			fmt.Fprintf(c.stderr, "%d/%d files\n", n, len(todo))
		}
	}
	return manifest, fetched, missing, nil
}

func entryOf(j store.Job, o jobs.Output) ManifestEntry {
	return ManifestEntry{
		File:   safeName(j.ID, o.Name),
		Object: o.Name, JobID: j.ID, UID: j.Request.UID, Email: j.Request.Notify.Email,
		Style: j.Request.Style, Priority: j.Request.Priority, ContentType: o.ContentType,
		Width: o.Width, Height: o.Height,
		CreatedAt: j.Request.CreatedAt.UTC(), CompletedAt: j.Response.CompletedAt.UTC(),
	}
}

// safeName is the file an object is saved as, relative to DIR: the object's
// name when it is a plain relative path (the worker's are
// <jobId>/<style>-a<attempt>-<i>.jpg), else the job's folder and the base
// name, so no object can write outside DIR.
func safeName(jobID, object string) string {
	clean := filepath.ToSlash(filepath.Clean(filepath.FromSlash(object)))
	if filepath.IsLocal(filepath.FromSlash(clean)) && strings.HasPrefix(clean, jobID+"/") {
		return clean
	}
	base := strings.NewReplacer("/", "_", "\\", "_", "..", "_").Replace(object)
	return jobID + "/" + base
}

// download copies the object to path unless a file of its size is there,
// through a temporary file renamed into place, and reports whether it
// downloaded.
func download(ctx context.Context, bucket *storage.BucketHandle, object, path string) (bool, error) {
	obj := bucket.Object(object)
	attrs, err := obj.Attrs(ctx)
	if err != nil {
		return false, fmt.Errorf("stat %s: %w", object, err)
	}
	if fi, err := os.Stat(path); err == nil && fi.Size() == attrs.Size {
		// An earlier export (before files were private) may have left it
		// readable by everyone.
		if fi.Mode().Perm() != exportFileMode {
			if err := os.Chmod(path, exportFileMode); err != nil {
				return false, err
			}
		}
		return false, nil
	}
	if attrs.Size > maxOutputBytes {
		return false, fmt.Errorf("%s is larger than %d bytes", object, maxOutputBytes)
	}
	if err := os.MkdirAll(filepath.Dir(path), exportDirMode); err != nil {
		return false, err
	}
	r, err := obj.NewReader(ctx)
	if err != nil {
		return false, fmt.Errorf("read %s: %w", object, err)
	}
	defer r.Close()
	err = writeFileAtomic(path, func(w io.Writer) error {
		if _, err := io.Copy(w, io.LimitReader(r, maxOutputBytes+1)); err != nil {
			return fmt.Errorf("read %s: %w", object, err)
		}
		return nil
	})
	if err != nil {
		return false, err
	}
	return true, nil
}

func writeManifest(dir string, entries []ManifestEntry) error {
	js, err := json.MarshalIndent(entries, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(dir, "manifest.json"), writeBytes(append(js, '\n'))); err != nil {
		return err
	}
	var b strings.Builder
	w := csv.NewWriter(&b)
	_ = w.Write([]string{"file", "object", "jobId", "uid", "email", "style", "priority", "contentType", "width", "height", "createdAt", "completedAt"})
	for _, e := range entries {
		_ = w.Write([]string{e.File, e.Object, e.JobID, e.UID, e.Email, e.Style, string(e.Priority), e.ContentType,
			strconv.Itoa(e.Width), strconv.Itoa(e.Height), e.CreatedAt.Format(time.RFC3339), e.CompletedAt.Format(time.RFC3339)})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, "manifest.csv"), writeBytes([]byte(b.String())))
}

func writeBytes(data []byte) func(io.Writer) error {
	return func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	}
}

// writeFileAtomic writes path through a new temporary file beside it,
// renamed into place, so an interrupted export leaves no half file. The
// temporary file is created fresh (never an old one reused with its mode)
// and set to exportFileMode before anything is written to it.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".export-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename, a no-op
	if err := tmp.Chmod(exportFileMode); err != nil {
		tmp.Close()
		return err
	}
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
