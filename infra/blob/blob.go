// Package blob is the Cloud Storage adapter. A Writer is bound to one bucket,
// so a component can only write where DESIGN.md lets it; reading and URL
// making work on any bucket.
package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"cloud.google.com/go/storage"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/iterator"
)

var (
	// ErrExists means the object was already there and was not overwritten.
	ErrExists = errors.New("object already exists")
	// ErrNotFound means the object does not exist.
	ErrNotFound = errors.New("object not found")
)

// Writer writes and deletes objects in its one bucket.
type Writer struct {
	bucket *storage.BucketHandle
	name   string
}

// NewWriter binds a writer to bucket.
func NewWriter(client *storage.Client, bucket string) *Writer {
	return &Writer{bucket: client.Bucket(bucket), name: bucket}
}

// Bucket names the bucket this writer may touch.
func (w *Writer) Bucket() string { return w.name }

// Create stores data as object, never overwriting: ErrExists if present.
func (w *Writer) Create(ctx context.Context, object, contentType string, data []byte) error {
	ow := w.bucket.Object(object).If(storage.Conditions{DoesNotExist: true}).NewWriter(ctx)
	ow.ContentType = contentType
	ow.SendCRC32C = false
	// The default 16 MiB chunk buffer is allocated and zeroed per upload;
	// one just larger than the object still sends it in one request and
	// keeps it retryable.
	ow.ChunkSize = chunkSize(len(data))
	if _, err := ow.Write(data); err != nil {
		ow.Close()
		return fmt.Errorf("blob.Create %s/%s: %w", w.name, object, err)
	}
	if err := ow.Close(); err != nil {
		var gerr *googleapi.Error
		if errors.As(err, &gerr) && gerr.Code == 412 {
			return fmt.Errorf("blob.Create %s/%s: %w", w.name, object, ErrExists)
		}
		return fmt.Errorf("blob.Create %s/%s: %w", w.name, object, err)
	}
	return nil
}

// chunkSize is the smallest upload chunk (a multiple of 256 KiB) that holds
// n bytes in one request.
func chunkSize(n int) int {
	const unit = 256 << 10
	return (n/unit + 1) * unit
}

// Delete removes object; a missing object is not an error, so undo steps can
// be retried.
func (w *Writer) Delete(ctx context.Context, object string) error {
	err := w.bucket.Object(object).Delete(ctx)
	if err != nil && !errors.Is(err, storage.ErrObjectNotExist) {
		return fmt.Errorf("blob.Delete %s/%s: %w", w.name, object, err)
	}
	return nil
}

// List returns the names of the objects whose name starts with prefix.
func (w *Writer) List(ctx context.Context, prefix string) ([]string, error) {
	var names []string
	it := w.bucket.Objects(ctx, &storage.Query{Prefix: prefix})
	for {
		o, err := it.Next()
		if errors.Is(err, iterator.Done) {
			return names, nil
		}
		if err != nil {
			return names, fmt.Errorf("blob.List %s/%s: %w", w.name, prefix, err)
		}
		names = append(names, o.Name)
	}
}

// Exists reports whether object is in the writer's bucket.
func (w *Writer) Exists(ctx context.Context, object string) (bool, error) {
	_, err := w.bucket.Object(object).Attrs(ctx)
	if errors.Is(err, storage.ErrObjectNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("blob.Exists %s/%s: %w", w.name, object, err)
	}
	return true, nil
}

// CreatedBefore returns the names of the objects created before before.
func (w *Writer) CreatedBefore(ctx context.Context, before time.Time) ([]string, error) {
	var names []string
	q := &storage.Query{}
	if err := q.SetAttrSelection([]string{"Name", "Created"}); err != nil {
		return nil, fmt.Errorf("blob.CreatedBefore: %w", err)
	}
	it := w.bucket.Objects(ctx, q)
	for {
		o, err := it.Next()
		if errors.Is(err, iterator.Done) {
			return names, nil
		}
		if err != nil {
			return names, fmt.Errorf("blob.CreatedBefore %s: %w", w.name, err)
		}
		if o.Created.Before(before) {
			names = append(names, o.Name)
		}
	}
}

// Reader reads objects from any bucket.
type Reader struct {
	client *storage.Client
}

// NewReader wraps a storage client for reading.
func NewReader(client *storage.Client) *Reader { return &Reader{client: client} }

// Read returns the whole object, refusing more than limit bytes.
func (r *Reader) Read(ctx context.Context, bucket, object string, limit int64) ([]byte, error) {
	or, err := r.client.Bucket(bucket).Object(object).NewReader(ctx)
	if errors.Is(err, storage.ErrObjectNotExist) {
		return nil, fmt.Errorf("blob.Read %s/%s: %w", bucket, object, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("blob.Read %s/%s: %w", bucket, object, err)
	}
	defer or.Close()
	data, err := io.ReadAll(io.LimitReader(or, limit+1))
	if err != nil {
		return nil, fmt.Errorf("blob.Read %s/%s: %w", bucket, object, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("blob.Read %s/%s: larger than %d bytes", bucket, object, limit)
	}
	return data, nil
}

// Exists reports whether object is in bucket.
func (r *Reader) Exists(ctx context.Context, bucket, object string) (bool, error) {
	_, err := r.client.Bucket(bucket).Object(object).Attrs(ctx)
	if errors.Is(err, storage.ErrObjectNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("blob.Exists %s/%s: %w", bucket, object, err)
	}
	return true, nil
}

// URLs makes download links for objects.
type URLs interface {
	URL(ctx context.Context, bucket, object string) (string, error)
}

// EmulatorURLs links straight to the Storage emulator's media endpoint; the
// emulator has no signed URLs.
type EmulatorURLs struct {
	Host string // STORAGE_EMULATOR_HOST, with or without scheme
}

// URL returns the emulator download URL of the object.
func (e EmulatorURLs) URL(_ context.Context, bucket, object string) (string, error) {
	base := e.Host
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	return fmt.Sprintf("%s/storage/v1/b/%s/o/%s?alt=media",
		strings.TrimSuffix(base, "/"), url.PathEscape(bucket), url.PathEscape(object)), nil
}

// SignedURLs signs V4 GET URLs that expire after Expiry, with the runtime
// service account's credentials.
type SignedURLs struct {
	Client *storage.Client
	Expiry time.Duration
}

// URL returns a signed download URL.
func (s SignedURLs) URL(_ context.Context, bucket, object string) (string, error) {
	u, err := s.Client.Bucket(bucket).SignedURL(object, &storage.SignedURLOptions{
		Method:  "GET",
		Expires: time.Now().Add(s.Expiry),
		Scheme:  storage.SigningSchemeV4,
	})
	if err != nil {
		return "", fmt.Errorf("blob.SignedURL %s/%s: %w", bucket, object, err)
	}
	return u, nil
}

// NewURLs picks emulator links when STORAGE_EMULATOR_HOST is set (the
// emulator cannot sign), signed URLs otherwise.
func NewURLs(client *storage.Client, emulatorHost string, expiry time.Duration) URLs {
	if emulatorHost != "" {
		return EmulatorURLs{Host: emulatorHost}
	}
	return SignedURLs{Client: client, Expiry: expiry}
}

// maxSignedURLExpiry is the longest a V4 signed URL may live.
const maxSignedURLExpiry = 7 * 24 * time.Hour

// CheckURLExpiry validates a SIGNED_URL_EXPIRY setting.
func CheckURLExpiry(d time.Duration) error {
	if d <= 0 || d > maxSignedURLExpiry {
		return fmt.Errorf("SIGNED_URL_EXPIRY=%s must be within (0, %s]", d, maxSignedURLExpiry)
	}
	return nil
}
