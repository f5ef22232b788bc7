// Package bridge stands in for Eventarc locally: it watches collections of
// the Firestore emulator with snapshot listeners, turns every document change
// into the CloudEvent (google.cloud.firestore.document.v1.written) Eventarc
// would deliver, and POSTs it in binary content mode to a target, normally
// the Notify function served by the functions framework.
//
// Semantics, kept close to Eventarc's:
//   - Documents that exist when a collection is first watched are its
//     baseline: they are remembered (for oldValue) but produce no events, as
//     Eventarc sends nothing about what existed before a trigger was made.
//   - A create carries value only; an update carries value, oldValue and an
//     updateMask of the changed top-level fields; a delete carries oldValue
//     only.
//   - Delivery is at least once: a non-2xx answer or a transport error is
//     retried with jittered exponential backoff until it succeeds or the
//     bridge stops. Events for one document are delivered in order; different
//     documents proceed concurrently.
//   - If a listener fails for good (the emulator restarted), it is
//     re-established with backoff, and its new first snapshot is diffed
//     against what the bridge last saw, so changes made while it was away
//     still produce events. (Transient stream errors are retried and resumed
//     inside the Firestore client already.)
//   - With a state file (Config.StateFile) the same holds across a restart
//     of the bridge (see state): a new bridge first delivers the events the
//     last one had queued but not got accepted, exactly as they were, then
//     diffs its first snapshots against the last versions the last one saw.
//     Of what changed while no bridge ran, a create carries value only; an
//     update carries value and, as oldValue, the last version seen
//     (versions in between are never seen, as when a listener coalesces
//     quick writes); a delete carries that version as oldValue. Without a
//     state file a new bridge starts from a new baseline.
//
// Logs name the document path, event id and attempt, never document contents.
package bridge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"cloud.google.com/go/firestore"
	"cloud.google.com/go/firestore/apiv1/firestorepb"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"google.golang.org/protobuf/proto"

	"github.com/tigerstudio/studio/infra/firestoreevent"
)

const (
	defaultRetryMin = 200 * time.Millisecond
	defaultRetryMax = 10 * time.Second
	// listenRetryMax caps the wait between attempts to re-establish a
	// listener; the emulator usually comes back within seconds.
	listenRetryMax = 5 * time.Second
)

// Config configures a Bridge.
type Config struct {
	// Project is the project id the events name (ce-source, ce-project).
	Project string
	// Collections are the top-level collections to watch; default
	// "responses" and "errors", the documents Notify is triggered by.
	Collections []string
	// Target is the URL events are POSTed to.
	Target string
	// ContentType of the event data: firestoreevent.ContentProtobuf (the
	// default, as Eventarc's Firestore triggers) or ContentJSON.
	ContentType string
	// Logger; default discards.
	Logger *slog.Logger
	// HTTP delivers the events; default a client with a 60s timeout.
	HTTP *http.Client
	// RetryMin and RetryMax bound the delivery backoff; default 200ms and
	// 10s.
	RetryMin, RetryMax time.Duration
	// StateFile, when set, is where the bridge keeps what it saw and has
	// still to deliver, so that a restarted bridge catches up (see the
	// package comment and state). Its
	// directory must exist; the file is created on first use, and
	// StateFile+".lock" keeps a second bridge from using it at the same
	// time. Empty: nothing is kept, every start takes a new baseline.
	StateFile string
}

// Bridge forwards Firestore emulator changes as CloudEvents. It runs once.
type Bridge struct {
	fs  *firestore.Client
	cfg Config
	log *slog.Logger

	ready         chan struct{}
	baselinesToGo atomic.Int32

	// state is nil without Config.StateFile.
	state *state

	// pending holds the undelivered events per document path; a path has an
	// entry exactly while a worker goroutine is draining it, which is what
	// keeps one document's events in order.
	mu      sync.Mutex
	pending map[string][]queued
	workers sync.WaitGroup
}

// queued is an event waiting for delivery and its change's sequence number
// in the state's outbox (0 without a state file).
type queued struct {
	event cloudevents.Event
	seq   uint64
}

// New returns a bridge that reads through fs (which must point at the
// emulator: FIRESTORE_EMULATOR_HOST) and delivers per cfg.
func New(fs *firestore.Client, cfg Config) *Bridge {
	if len(cfg.Collections) == 0 {
		cfg.Collections = []string{"responses", "errors"}
	} else {
		cfg.Collections = slices.Clone(cfg.Collections)
	}
	slices.Sort(cfg.Collections)
	cfg.Collections = slices.Compact(cfg.Collections)
	if cfg.ContentType == "" {
		cfg.ContentType = firestoreevent.ContentProtobuf
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.HTTP == nil {
		cfg.HTTP = &http.Client{Timeout: 60 * time.Second}
	}
	if cfg.RetryMin <= 0 {
		cfg.RetryMin = defaultRetryMin
	}
	if cfg.RetryMax < cfg.RetryMin {
		cfg.RetryMax = max(defaultRetryMax, cfg.RetryMin)
	}
	b := &Bridge{
		fs: fs, cfg: cfg, log: cfg.Logger,
		ready:   make(chan struct{}),
		pending: map[string][]queued{},
	}
	b.baselinesToGo.Store(int32(len(cfg.Collections)))
	return b
}

// Ready is closed once every listener has taken its first snapshot (a
// baseline, or with a state file the catch-up, whose events are then
// queued): changes made after that produce events.
func (b *Bridge) Ready() <-chan struct{} { return b.ready }

func (c Config) validate() error {
	if c.Project == "" {
		return errors.New("no project")
	}
	u, err := url.Parse(c.Target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("target %q is not an http(s) URL", c.Target)
	}
	if c.ContentType != firestoreevent.ContentProtobuf && c.ContentType != firestoreevent.ContentJSON {
		return fmt.Errorf("unsupported content type %q", c.ContentType)
	}
	for _, coll := range c.Collections {
		if coll == "" || strings.Contains(coll, "/") {
			return fmt.Errorf("collection %q is not a top-level collection id", coll)
		}
	}
	return nil
}

// Run watches and delivers until ctx ends, then waits for its goroutines
// and returns nil. Events not yet delivered at that point are dropped, as
// they would be if the process were killed; with a state file the next
// bridge delivers them. Run fails at once when the configuration is bad or
// the state file cannot be used.
func (b *Bridge) Run(ctx context.Context) error {
	if err := b.cfg.validate(); err != nil {
		return fmt.Errorf("bridge.Run: %w", err)
	}
	if b.cfg.StateFile != "" {
		st, warnings, err := openState(b.cfg.StateFile, b.cfg.Collections)
		if err != nil {
			return fmt.Errorf("bridge.Run: %w", err)
		}
		for _, w := range warnings {
			b.log.WarnContext(ctx, "bridge state: "+w, slog.String("file", b.cfg.StateFile))
		}
		b.state = st
		defer func() {
			if cerr := st.close(); cerr != nil {
				b.log.Error("bridge state not saved", slog.Any("error", cerr))
			}
		}()
	}
	b.log.InfoContext(ctx, "bridge starting",
		slog.Any("collections", b.cfg.Collections),
		slog.String("target", b.cfg.Target),
		slog.String("contentType", b.cfg.ContentType),
		slog.String("stateFile", b.cfg.StateFile))
	var wg sync.WaitGroup
	for _, coll := range b.cfg.Collections {
		wg.Go(func() { b.watch(ctx, coll) })
	}
	wg.Wait()
	b.workers.Wait()
	b.log.Info("bridge stopped")
	return nil
}

// watch keeps one collection's listener alive until ctx ends.
func (b *Bridge) watch(ctx context.Context, coll string) {
	log := b.log.With(slog.String("collection", coll))
	// cache is the last version of each document seen; it outlives a
	// listener so a re-established one can be diffed against it. With a
	// state file it starts as the last versions the last run saw, and the
	// first snapshot is diffed against that like a re-established
	// listener's. nil: no baseline yet.
	var cache map[string]*firestorepb.Document
	if b.state != nil {
		var outbox []pendingChange
		cache, outbox, _ = b.state.known(coll)
		if len(outbox) > 0 {
			log.InfoContext(ctx, "bridge delivering what the last run did not", slog.Int("events", len(outbox)))
		}
		// Queued before the catch-up's changes, which follow them.
		for _, p := range outbox {
			b.enqueue(ctx, log, p.c, p.seq)
		}
	}
	first := true // the first snapshot of this run is still to come
	wait := time.Second
	for ctx.Err() == nil {
		it := b.fs.Collection(coll).Snapshots(ctx)
		established, err := b.listen(ctx, log, coll, it, &cache, &first)
		it.Stop()
		if ctx.Err() != nil {
			return
		}
		if established {
			wait = time.Second
		}
		log.WarnContext(ctx, "bridge listener failed; re-establishing",
			slog.Any("error", err), slog.Duration("in", wait))
		if !sleep(ctx, jitter(wait)) {
			return
		}
		wait = min(2*wait, listenRetryMax)
	}
}

// listen consumes one listener. *cache is nil before the first baseline of
// this collection ever; *first is true until this run's first snapshot. It
// reports whether it got a first snapshot.
func (b *Bridge) listen(ctx context.Context, log *slog.Logger, coll string, it *firestore.QuerySnapshotIterator, cache *map[string]*firestorepb.Document, first *bool) (bool, error) {
	baseline := true
	for {
		snap, err := it.Next()
		if err != nil {
			return !baseline, err
		}
		if !baseline {
			b.emitChanges(ctx, log, snap, *cache)
			continue
		}
		if err := b.baseline(ctx, log, coll, snap, cache, *first); err != nil {
			return false, err
		}
		baseline = false
		if *first {
			*first = false
			b.baselineDone()
		}
	}
}

// baseline takes a listener's first snapshot as the collection's state:
// saved as the first baseline ever, or compared with the cache to emit what
// changed while no listener ran.
func (b *Bridge) baseline(ctx context.Context, log *slog.Logger, coll string, snap *firestore.QuerySnapshot, cache *map[string]*firestorepb.Document, first bool) error {
	docs, err := snap.Documents.GetAll()
	if err != nil {
		return fmt.Errorf("bridge: baseline of %s: %w", coll, err)
	}
	current := make(map[string]*firestorepb.Document, len(docs))
	for _, d := range docs {
		path, pd, err := b.document(d)
		if err != nil {
			log.ErrorContext(ctx, "bridge: cannot convert document", slog.String("doc", path), slog.Any("error", err))
			continue
		}
		current[path] = pd
	}
	if *cache == nil {
		log.InfoContext(ctx, "bridge baseline", slog.Int("documents", len(current)))
		if b.state != nil {
			if err := b.state.baseline(coll, current); err != nil {
				// A later start will take a new baseline: it misses what
				// changes while this one is down, no more.
				log.ErrorContext(ctx, "bridge: baseline not saved", slog.Any("error", err))
			}
		}
	} else {
		changes := diff(*cache, current, snap.ReadTime)
		msg := "bridge listener re-established"
		if first {
			msg = "bridge caught up with the state file"
		}
		log.InfoContext(ctx, msg, slog.Int("documents", len(current)), slog.Int("missedChanges", len(changes)))
		for _, c := range changes {
			b.emit(ctx, log, c)
		}
	}
	*cache = current
	return nil
}

// emitChanges emits a snapshot's changes against the cache, which it keeps
// up to date.
func (b *Bridge) emitChanges(ctx context.Context, log *slog.Logger, snap *firestore.QuerySnapshot, cache map[string]*firestorepb.Document) {
	for _, ch := range snap.Changes {
		path, pd, err := b.document(ch.Doc)
		if err != nil {
			log.ErrorContext(ctx, "bridge: cannot convert document", slog.String("doc", path), slog.Any("error", err))
			continue
		}
		old := cache[path]
		var c change
		switch ch.Kind {
		case firestore.DocumentAdded, firestore.DocumentModified:
			if old != nil && old.GetUpdateTime().AsTime().Equal(pd.GetUpdateTime().AsTime()) {
				continue // already seen (a listener resumed over it)
			}
			if ch.Kind == firestore.DocumentAdded {
				old = nil // a create has no oldValue, whatever the cache says
			} else if old == nil && ch.OldDoc != nil {
				if _, od, err := b.document(ch.OldDoc); err == nil {
					old = od
				}
			}
			cache[path] = pd
			c = change{path: path, old: old, new: pd, at: pd.GetUpdateTime().AsTime()}
		case firestore.DocumentRemoved:
			if old == nil {
				old = pd // the client's last version of the document
			}
			delete(cache, path)
			c = change{path: path, old: old, at: snap.ReadTime}
		default:
			continue
		}
		b.emit(ctx, log, c)
	}
}

// baselineDone counts a collection's first baseline; the last one makes the
// bridge ready.
func (b *Bridge) baselineDone() {
	if b.baselinesToGo.Add(-1) == 0 {
		close(b.ready)
	}
}

// document converts a snapshot into the event's Document and its path
// relative to the database ("responses/abc").
func (b *Bridge) document(d *firestore.DocumentSnapshot) (string, *firestorepb.Document, error) {
	_, _, path := splitName(d.Ref.Path)
	var data map[string]any
	if d.Exists() {
		data = d.Data()
	}
	pd, err := firestoreevent.Document(d.Ref.Path, data, d.CreateTime, d.UpdateTime)
	return path, pd, err
}

// splitName splits "projects/P/databases/D/documents/REST".
func splitName(name string) (project, database, path string) {
	parts := strings.SplitN(name, "/", 6)
	if len(parts) == 6 && parts[0] == "projects" && parts[2] == "databases" && parts[4] == "documents" {
		return parts[1], parts[3], parts[5]
	}
	return "", "", name
}

// change is one document change: old nil for a create, new nil for a delete.
type change struct {
	path     string
	old, new *firestorepb.Document
	at       time.Time
}

// diff lists the changes from cache to current, in path order: what a
// listener that was away missed. at is the time of the current snapshot,
// which deletions use.
func diff(cache, current map[string]*firestorepb.Document, at time.Time) []change {
	var out []change
	for path, cur := range current {
		old, ok := cache[path]
		switch {
		case !ok:
			out = append(out, change{path: path, new: cur, at: cur.GetUpdateTime().AsTime()})
		case !old.GetUpdateTime().AsTime().Equal(cur.GetUpdateTime().AsTime()):
			if old.GetCreateTime().AsTime().Equal(cur.GetCreateTime().AsTime()) {
				out = append(out, change{path: path, old: old, new: cur, at: cur.GetUpdateTime().AsTime()})
			} else {
				// Deleted and created again while away: Eventarc would have
				// sent both.
				out = append(out,
					change{path: path, old: old, at: at},
					change{path: path, new: cur, at: cur.GetUpdateTime().AsTime()})
			}
		}
	}
	for path, old := range cache {
		if _, ok := current[path]; !ok {
			out = append(out, change{path: path, old: old, at: at})
		}
	}
	slices.SortStableFunc(out, func(a, b change) int { return strings.Compare(a.path, b.path) })
	return out
}

// updateMask lists the top-level fields that differ between old and new.
func updateMask(old, new *firestorepb.Document) []string {
	var mask []string
	for k, v := range new.GetFields() {
		if ov, ok := old.GetFields()[k]; !ok || !proto.Equal(ov, v) {
			mask = append(mask, k)
		}
	}
	for k := range old.GetFields() {
		if _, ok := new.GetFields()[k]; !ok {
			mask = append(mask, k)
		}
	}
	slices.Sort(mask)
	return mask
}

// eventID is unique per change and the same for the same change, so a
// receiver can deduplicate redeliveries by it.
func eventID(c change) string {
	if c.new == nil {
		return c.path + "@" + strconv.FormatInt(c.at.UnixNano(), 10) + ":delete"
	}
	return c.path + "@" + strconv.FormatInt(c.new.GetUpdateTime().AsTime().UnixNano(), 10)
}

// event builds the CloudEvent of a change.
func (b *Bridge) event(c change) (cloudevents.Event, error) {
	d := firestoreevent.Data{Value: c.new, OldValue: c.old}
	if c.old != nil && c.new != nil {
		d.UpdateMask = updateMask(c.old, c.new)
	}
	name := c.new.GetName()
	if name == "" {
		name = c.old.GetName()
	}
	_, database, _ := splitName(name)
	if database == "" {
		database = "(default)"
	}
	return firestoreevent.NewEvent(eventID(c), b.cfg.Project, database, c.path, c.at, d, b.cfg.ContentType)
}

// emit records a change in the state's outbox and queues its event.
func (b *Bridge) emit(ctx context.Context, log *slog.Logger, c change) {
	var seq uint64
	if b.state != nil {
		var err error
		if seq, err = b.state.queue(c); err != nil {
			log.ErrorContext(ctx, "bridge: state file behind", slog.String("doc", c.path), slog.Any("error", err))
		}
	}
	b.enqueue(ctx, log, c, seq)
}

// enqueue queues a change's event behind the earlier ones of its document.
func (b *Bridge) enqueue(ctx context.Context, log *slog.Logger, c change, seq uint64) {
	e, err := b.event(c)
	if err != nil {
		log.ErrorContext(ctx, "bridge: cannot build event", slog.String("doc", c.path), slog.Any("error", err))
		if b.state != nil && seq != 0 {
			// It would fail the same way at every start: out of the
			// outbox, which must only hold what can still be delivered.
			if err := b.state.accepted(seq); err != nil {
				log.ErrorContext(ctx, "bridge: state file behind", slog.String("doc", c.path), slog.Any("error", err))
			}
		}
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	q, running := b.pending[c.path]
	b.pending[c.path] = append(q, queued{event: e, seq: seq})
	if !running {
		b.workers.Go(func() { b.drain(ctx, c.path) })
	}
}

// drain delivers a document's queued events one after another.
func (b *Bridge) drain(ctx context.Context, path string) {
	for {
		b.mu.Lock()
		q := b.pending[path]
		if len(q) == 0 || ctx.Err() != nil {
			delete(b.pending, path)
			b.mu.Unlock()
			return
		}
		next := q[0]
		b.pending[path] = q[1:]
		b.mu.Unlock()
		if b.deliver(ctx, path, next.event) && b.state != nil {
			// Only now does it leave the outbox: an event the bridge
			// stopped before delivering is delivered by the next one.
			if err := b.state.accepted(next.seq); err != nil {
				b.log.Error("bridge: state file behind", slog.String("doc", path),
					slog.String("eventId", next.event.ID()), slog.Any("error", err))
			}
		}
	}
}

// deliver POSTs one event until the target accepts it or ctx ends, and
// reports whether it was accepted.
func (b *Bridge) deliver(ctx context.Context, path string, e cloudevents.Event) bool {
	log := b.log.With(slog.String("doc", path), slog.String("eventId", e.ID()))
	wait := b.cfg.RetryMin
	for attempt := 1; ; attempt++ {
		err := b.post(ctx, e)
		if err == nil {
			log.InfoContext(ctx, "bridge delivered event", slog.Int("attempt", attempt))
			return true
		}
		if ctx.Err() != nil {
			log.WarnContext(ctx, "bridge stopped before delivering event", slog.Int("attempt", attempt))
			return false
		}
		log.WarnContext(ctx, "bridge delivery failed; retrying",
			slog.Int("attempt", attempt), slog.Any("error", err), slog.Duration("in", wait))
		if !sleep(ctx, jitter(wait)) {
			return false
		}
		wait = min(2*wait, b.cfg.RetryMax)
	}
}

// post sends the event once in binary content mode: ce-* headers, the data
// as the body, Content-Type the data content type.
func (b *Bridge) post(ctx context.Context, e cloudevents.Event) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.cfg.Target, nil)
	if err != nil {
		return fmt.Errorf("bridge.post: %w", err)
	}
	// EventMessage is written in binary mode unless a context asks for
	// structured, which is what Eventarc does for Firestore events.
	if err := cehttp.WriteRequest(ctx, (*binding.EventMessage)(&e), req); err != nil {
		return fmt.Errorf("bridge.post: encode: %w", err)
	}
	resp, err := b.cfg.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("bridge.post: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("bridge.post: target answered %s", resp.Status)
	}
	return nil
}

// jitter spreads retries over [d/2, d) so listeners and deliveries that
// failed together do not retry in lockstep.
func jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2)
}

// sleep waits d or until ctx ends; it reports whether the wait completed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
