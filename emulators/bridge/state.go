package bridge

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"cloud.google.com/go/firestore/apiv1/firestorepb"
	"google.golang.org/protobuf/proto"
)

// state is what the bridge has seen and what it has still to deliver, kept
// in a file so that a bridge that was down can deliver what it missed: for
// every watched collection whether its baseline was taken, the last version
// of every document the bridge saw (the baseline, or the new side of the
// last change it queued), and the outbox, the changes queued whose events
// the target has not accepted yet. A restarted bridge delivers the outbox
// first, as it was queued (same event ids, same oldValue), then diffs its
// first snapshots against the last versions seen. Full documents, not only
// update times, because an update or a delete made while the bridge was
// down needs the last version as oldValue, and an outbox change needs both
// sides. A change leaves the outbox only once its event was accepted, so a
// bridge killed in mid-delivery delivers it again: at least once.
//
// The file is a journal: a header, then one record per step, appended as
// it happens (a change queued, an event accepted). Appending costs one
// small write whatever the number of documents, where rewriting the whole
// state at every step would cost the size of the collections each time. The
// journal is compacted (the live state written to a temporary file that is
// renamed over it) when it opens and whenever the records appended since
// outnumber the live entries, so it stays within about twice the size of the
// watched collections. The in-memory maps are the truth; the file is their
// copy, rebuilt by a compaction when an append fails.
//
// A record is uvarint(len(body)+1), a kind byte, the body, and the CRC-32C
// of kind and body. A record cut short (a machine crash in mid-append) ends
// the journal: what follows is ignored, and the changes concerned are
// delivered again (they differ from the last version recorded) or, for a
// change made and undone while unrecorded, not at all.
type state struct {
	path string
	lock *os.File

	mu          sync.Mutex
	f           *os.File // the journal, open for appending; nil after a failed write
	collections map[string]bool
	docs        map[string]*firestorepb.Document // last version seen, by path ("responses/abc")
	outbox      map[uint64]change                // queued, not yet accepted, by sequence number
	nextSeq     uint64
	appended    int // records appended since the last compaction
}

// pendingChange is a change in the outbox.
type pendingChange struct {
	seq uint64
	c   change
}

const (
	stateMagic = "tiger-studio bridge state v1\n"
	// recCollection: the named collection's baseline is in the state.
	recCollection = 'c'
	// recDoc: a document's last version seen (protobuf
	// firestorepb.Document); baselines and compactions write these.
	recDoc = 'p'
	// recQueued: a change queued for delivery; its new side (or its
	// absence) becomes the document's last version seen.
	recQueued = 'q'
	// recAccepted: the target accepted the event of the queued change with
	// this sequence number.
	recAccepted = 'a'
	// compactMin keeps small states from being compacted every few events.
	compactMin = 1024
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// errStateInUse means another bridge holds the state file.
var errStateInUse = errors.New("in use by another bridge")

// openState locks and loads the state file at path (absent: empty state),
// keeps only the given collections' entries, and compacts it.
func openState(path string, collections []string) (*state, []string, error) {
	lock, err := os.OpenFile(path+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("bridge state: %w", err)
	}
	// Two bridges appending to one journal would interleave records, and
	// one compacting would lose the other's.
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, nil, fmt.Errorf("bridge state %s: %w", path, errStateInUse)
		}
		return nil, nil, fmt.Errorf("bridge state %s: lock: %w", path, err)
	}
	s := &state{
		path: path, lock: lock, nextSeq: 1,
		collections: map[string]bool{}, docs: map[string]*firestorepb.Document{}, outbox: map[uint64]change{},
	}
	warnings, err := s.load()
	if err != nil {
		lock.Close()
		return nil, nil, err
	}
	for c := range s.collections {
		if !slices.Contains(collections, c) {
			delete(s.collections, c)
		}
	}
	for p := range s.docs {
		if !s.collections[collectionOf(p)] {
			delete(s.docs, p)
		}
	}
	for seq, c := range s.outbox {
		if !s.collections[collectionOf(c.path)] {
			delete(s.outbox, seq)
		}
	}
	s.mu.Lock()
	err = s.compact()
	s.mu.Unlock()
	if err != nil {
		lock.Close()
		return nil, nil, err
	}
	return s, warnings, nil
}

// load reads the journal; a missing file is an empty state. It returns
// warnings about what it had to ignore.
func (s *state) load() ([]string, error) {
	data, err := os.ReadFile(s.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("bridge state: %w", err)
	}
	if !bytes.HasPrefix(data, []byte(stateMagic)) {
		// Not ours: refuse rather than overwrite it at the first compaction.
		return nil, fmt.Errorf("bridge state: %s is not a bridge state file", s.path)
	}
	var warnings []string
	rest := data[len(stateMagic):]
	for len(rest) > 0 {
		at := len(data) - len(rest)
		n, k := binary.Uvarint(rest)
		if k <= 0 || n == 0 || uint64(len(rest)-k) < n+4 {
			warnings = append(warnings, fmt.Sprintf("journal cut short at byte %d; ignoring its last %d bytes", at, len(rest)))
			break
		}
		rec := rest[k : k+int(n)]
		sum := binary.BigEndian.Uint32(rest[k+int(n):])
		rest = rest[k+int(n)+4:]
		if crc32.Checksum(rec, crcTable) != sum {
			warnings = append(warnings, fmt.Sprintf("bad checksum at byte %d; ignoring the rest of the journal", at))
			break
		}
		if err := s.apply(rec[0], rec[1:]); err != nil {
			warnings = append(warnings, fmt.Sprintf("record at byte %d: %v; ignoring the rest of the journal", at, err))
			break
		}
	}
	return warnings, nil
}

func (s *state) apply(kind byte, body []byte) error {
	switch kind {
	case recCollection:
		s.collections[string(body)] = true
	case recDoc:
		d, err := unmarshalDoc(body)
		if err != nil || d == nil {
			return fmt.Errorf("document: %w", err)
		}
		_, _, p := splitName(d.GetName())
		s.docs[p] = d
	case recQueued:
		seq, c, err := decodeChange(body)
		if err != nil {
			return err
		}
		s.see(c)
		s.outbox[seq] = c
		s.nextSeq = max(s.nextSeq, seq+1)
	case recAccepted:
		seq, n := binary.Uvarint(body)
		if n <= 0 {
			return errors.New("bad sequence number")
		}
		delete(s.outbox, seq)
	default:
		return fmt.Errorf("unknown record kind %q", kind)
	}
	return nil
}

// see makes c's new side its document's last version seen.
func (s *state) see(c change) {
	if c.new != nil {
		s.docs[c.path] = c.new
	} else {
		delete(s.docs, c.path)
	}
}

// encodeChange appends seq and c: uvarint seq, varint c.at in Unix
// nanoseconds, then the path, old and new (protobuf; empty for nil), each
// prefixed by its uvarint length.
func encodeChange(buf []byte, seq uint64, c change) ([]byte, error) {
	buf = binary.AppendUvarint(buf, seq)
	buf = binary.AppendVarint(buf, c.at.UnixNano())
	buf = binary.AppendUvarint(buf, uint64(len(c.path)))
	buf = append(buf, c.path...)
	for _, d := range []*firestorepb.Document{c.old, c.new} {
		var b []byte
		if d != nil {
			var err error
			if b, err = proto.Marshal(d); err != nil {
				return nil, fmt.Errorf("bridge state: %w", err)
			}
		}
		buf = binary.AppendUvarint(buf, uint64(len(b)))
		buf = append(buf, b...)
	}
	return buf, nil
}

func decodeChange(body []byte) (uint64, change, error) {
	bad := errors.New("malformed queued change")
	seq, n := binary.Uvarint(body)
	if n <= 0 {
		return 0, change{}, bad
	}
	body = body[n:]
	at, n := binary.Varint(body)
	if n <= 0 {
		return 0, change{}, bad
	}
	body = body[n:]
	var parts [3][]byte
	for i := range parts {
		l, n := binary.Uvarint(body)
		if n <= 0 || uint64(len(body)-n) < l {
			return 0, change{}, bad
		}
		parts[i] = body[n : n+int(l)]
		body = body[n+int(l):]
	}
	c := change{path: string(parts[0]), at: time.Unix(0, at).UTC()}
	var err error
	if c.old, err = unmarshalDoc(parts[1]); err != nil {
		return 0, change{}, err
	}
	if c.new, err = unmarshalDoc(parts[2]); err != nil {
		return 0, change{}, err
	}
	if c.path == "" || (c.old == nil && c.new == nil) {
		return 0, change{}, bad
	}
	return seq, c, nil
}

// unmarshalDoc decodes a document; empty is nil.
func unmarshalDoc(b []byte) (*firestorepb.Document, error) {
	if len(b) == 0 {
		return nil, nil
	}
	d := &firestorepb.Document{}
	if err := proto.Unmarshal(b, d); err != nil {
		return nil, fmt.Errorf("document: %w", err)
	}
	return d, nil
}

// collectionOf is the top-level collection of a document path.
func collectionOf(path string) string {
	c, _, _ := strings.Cut(path, "/")
	return c
}

// known reports whether coll's baseline is in the state and, if so, the
// last versions seen of its documents (a map the caller owns) and its
// outbox, in the order the changes were queued.
func (s *state) known(coll string) (map[string]*firestorepb.Document, []pendingChange, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.collections[coll] {
		return nil, nil, false
	}
	docs := map[string]*firestorepb.Document{}
	for p, d := range s.docs {
		if collectionOf(p) == coll {
			docs[p] = d
		}
	}
	var out []pendingChange
	for seq, c := range s.outbox {
		if collectionOf(c.path) == coll {
			out = append(out, pendingChange{seq: seq, c: c})
		}
	}
	slices.SortFunc(out, func(a, b pendingChange) int { return cmp.Compare(a.seq, b.seq) })
	return docs, out, true
}

// baseline records coll's first snapshot, replacing whatever the state held
// about it.
func (s *state) baseline(coll string, docs map[string]*firestorepb.Document) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for p := range s.docs {
		if collectionOf(p) == coll {
			delete(s.docs, p)
		}
	}
	for seq, c := range s.outbox {
		if collectionOf(c.path) == coll {
			delete(s.outbox, seq)
		}
	}
	maps.Copy(s.docs, docs)
	s.collections[coll] = true
	// One rewrite rather than a record per document.
	return s.compact()
}

// queue records a change queued for delivery and returns its sequence
// number for accepted. An error means only that the file is behind: the
// change is in the state, and the next write rewrites the file.
func (s *state) queue(c change) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	seq := s.nextSeq
	s.nextSeq++
	s.see(c)
	s.outbox[seq] = c
	body, err := encodeChange(nil, seq, c)
	if err != nil {
		return seq, err
	}
	return seq, s.append(recQueued, body)
}

// accepted records that the target accepted the event of change seq.
func (s *state) accepted(seq uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.outbox, seq)
	return s.append(recAccepted, binary.AppendUvarint(nil, seq))
}

// append writes one record, or compacts when the journal has grown past
// its bound or the last write failed. Callers hold mu.
func (s *state) append(kind byte, body []byte) error {
	if s.f == nil || s.appended >= max(compactMin, len(s.docs)+len(s.outbox)) {
		return s.compact()
	}
	// One Write per record: a killed process leaves whole records behind
	// (the kernel has them), only a machine crash can cut one short.
	if _, err := s.f.Write(record(nil, kind, body)); err != nil {
		// The journal may now end in a partial record; the next change
		// rewrites it from memory instead of appending after that.
		s.f.Close()
		s.f = nil
		return fmt.Errorf("bridge state: append: %w", err)
	}
	s.appended++
	return nil
}

func record(buf []byte, kind byte, body []byte) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(body)+1))
	start := len(buf)
	buf = append(buf, kind)
	buf = append(buf, body...)
	return binary.BigEndian.AppendUint32(buf, crc32.Checksum(buf[start:], crcTable))
}

// compact writes the live state to a temporary file, renames it over the
// journal and reopens it for appending. Callers hold mu.
func (s *state) compact() error {
	buf := []byte(stateMagic)
	for _, c := range slices.Sorted(maps.Keys(s.collections)) {
		buf = record(buf, recCollection, []byte(c))
	}
	for _, p := range slices.Sorted(maps.Keys(s.docs)) {
		body, err := proto.Marshal(s.docs[p])
		if err != nil {
			return fmt.Errorf("bridge state: %w", err)
		}
		buf = record(buf, recDoc, body)
	}
	// The outbox after the documents: replaying a queued change sets its
	// document's last version, which must stay the newest one.
	for _, seq := range slices.Sorted(maps.Keys(s.outbox)) {
		body, err := encodeChange(nil, seq, s.outbox[seq])
		if err != nil {
			return fmt.Errorf("bridge state: %w", err)
		}
		buf = record(buf, recQueued, body)
	}
	tmp, err := os.CreateTemp(filepath.Dir(s.path), filepath.Base(s.path)+".tmp*")
	if err != nil {
		return fmt.Errorf("bridge state: %w", err)
	}
	_, err = tmp.Write(buf)
	if err == nil {
		// Renamed before its data is on disk, a crash could leave an
		// empty file where the state was.
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), s.path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("bridge state: compact: %w", err)
	}
	// The rename itself is durable once the directory is synced; a crash
	// before that leaves the previous journal, which is only older.
	if dir, err := os.Open(filepath.Dir(s.path)); err == nil {
		_ = dir.Sync()
		dir.Close()
	}
	if s.f != nil {
		s.f.Close()
		s.f = nil
	}
	f, err := os.OpenFile(s.path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("bridge state: %w", err)
	}
	s.f = f
	s.appended = 0
	return nil
}

// close releases the file and its lock. A journal whose last write failed
// is rewritten first, so nothing accepted is forgotten.
func (s *state) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var err error
	if s.f == nil {
		err = s.compact()
	}
	if s.f != nil {
		if cerr := s.f.Close(); err == nil {
			err = cerr
		}
		s.f = nil
	}
	s.lock.Close() // releases the flock
	return err
}
