// Package testenv gives integration tests the local stack that `make dev`
// starts: addresses from the environment (.local/env), clients, users signed
// in on the Auth emulator, and per-test buckets and queue prefixes so tests
// can run in parallel on one stack.
//
// Without the stack a test is skipped with a message saying how to start it;
// with TIGER_REQUIRE_STACK=1 (set by `make test`, so CI) it fails instead.
package testenv

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/firestore"
	"cloud.google.com/go/storage"
	firebase "firebase.google.com/go/v4"
	fbauth "firebase.google.com/go/v4/auth"
	amqp "github.com/rabbitmq/amqp091-go"
	"google.golang.org/api/iterator"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tigerstudio/studio/infra/queue"
)

// Stack is the running local stack.
type Stack struct {
	Project       string
	FirestoreHost string
	AuthHost      string
	StorageHost   string
	AMQPURL       string
	InputBucket   string
	OutputBucket  string
	// QueuePrefix names the stack's own queues, which its worker consumes:
	// a Gateway built with it and InputBucket has its jobs generated.
	QueuePrefix string
	GatewayURL  string
	MailDir     string
	StackScript string
}

// Get returns the stack, or skips (fails under TIGER_REQUIRE_STACK=1) when
// its environment is missing.
func Get(t testing.TB) Stack {
	t.Helper()
	s := Stack{
		Project:       os.Getenv("GCLOUD_PROJECT"),
		FirestoreHost: os.Getenv("FIRESTORE_EMULATOR_HOST"),
		AuthHost:      os.Getenv("FIREBASE_AUTH_EMULATOR_HOST"),
		StorageHost:   os.Getenv("STORAGE_EMULATOR_HOST"),
		AMQPURL:       os.Getenv("AMQP_URL"),
		InputBucket:   os.Getenv("INPUT_BUCKET"),
		OutputBucket:  os.Getenv("OUTPUT_BUCKET"),
		QueuePrefix:   os.Getenv("QUEUE_PREFIX"),
		GatewayURL:    os.Getenv("GATEWAY_URL"),
		MailDir:       os.Getenv("MAIL_DIR"),
		StackScript:   os.Getenv("STACK_SCRIPT"),
	}
	var missing []string
	for name, v := range map[string]string{
		"GCLOUD_PROJECT": s.Project, "FIRESTORE_EMULATOR_HOST": s.FirestoreHost,
		"FIREBASE_AUTH_EMULATOR_HOST": s.AuthHost, "STORAGE_EMULATOR_HOST": s.StorageHost,
		"AMQP_URL": s.AMQPURL,
	} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		Require(t, fmt.Errorf("integration test needs the local stack (missing %s): run `make dev` then `set -a; . .local/env; set +a`, or `make test`", strings.Join(missing, ", ")))
	}
	return s
}

// Require skips the test when a part it needs is missing (err), saying why,
// and fails it instead under TIGER_REQUIRE_STACK=1, so CI never skips.
func Require(t testing.TB, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if os.Getenv("TIGER_REQUIRE_STACK") == "1" {
		t.Fatalf("TIGER_REQUIRE_STACK=1 but: %v", err)
	}
	t.Skipf("skipping: %v", err)
}

// Unique returns a short name unique to this test run, safe for buckets,
// queues and document ids.
func Unique(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

// Ctx returns a context cancelled when the test ends or after a minute.
func Ctx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// AMQPHost is the broker's host:port, for a Proxy in front of it.
func (s Stack) AMQPHost(t testing.TB) string {
	t.Helper()
	u, err := amqp.ParseURI(s.AMQPURL)
	if err != nil {
		t.Fatalf("parse AMQP_URL: %v", err)
	}
	return fmt.Sprintf("%s:%d", u.Host, u.Port)
}

// Firestore returns an admin client of the emulator.
func (s Stack) Firestore(t testing.TB) *firestore.Client {
	t.Helper()
	fs, err := firestore.NewClient(context.Background(), s.Project)
	if err != nil {
		t.Fatalf("firestore client: %v", err)
	}
	t.Cleanup(func() { fs.Close() })
	return fs
}

// Storage returns a client of the Storage emulator.
func (s Stack) Storage(t testing.TB) *storage.Client {
	t.Helper()
	c, err := storage.NewClient(context.Background())
	if err != nil {
		t.Fatalf("storage client: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Bucket creates a bucket of the test's own, so "nothing was left behind"
// can be checked by listing it.
func (s Stack) Bucket(t testing.TB, gcs *storage.Client) string {
	t.Helper()
	name := Unique("test")
	if err := gcs.Bucket(name).Create(Ctx(t), s.Project, nil); err != nil {
		t.Fatalf("create bucket %s: %v", name, err)
	}
	return name
}

// Objects lists the object names in bucket.
func Objects(t testing.TB, gcs *storage.Client, bucket string) []string {
	t.Helper()
	var names []string
	it := gcs.Bucket(bucket).Objects(Ctx(t), nil)
	for {
		o, err := it.Next()
		if errors.Is(err, iterator.Done) {
			return names
		}
		if err != nil {
			t.Fatalf("list %s: %v", bucket, err)
		}
		names = append(names, o.Name)
	}
}

// Topology returns a queue topology of the test's own, declared, and deleted
// when the test ends.
func (s Stack) Topology(t testing.TB) queue.Topology {
	t.Helper()
	topo := queue.Topology{Prefix: Unique("test")}
	if err := queue.DeclareTopology(s.AMQPURL, topo); err != nil {
		t.Fatalf("declare topology: %v", err)
	}
	t.Cleanup(func() {
		s.withChannel(t, func(ch *amqp.Channel) error { return topo.Delete(ch) })
	})
	return topo
}

// QueueDepth returns the number of ready messages in a queue.
func (s Stack) QueueDepth(t testing.TB, name string) int {
	t.Helper()
	var n int
	s.withChannel(t, func(ch *amqp.Channel) error {
		q, err := ch.QueueDeclarePassive(name, true, false, false, false, nil)
		n = q.Messages
		return err
	})
	return n
}

// Get takes one message from a queue (auto-acked), or ok=false if empty.
func (s Stack) GetMessage(t testing.TB, name string) (amqp.Delivery, bool) {
	t.Helper()
	var d amqp.Delivery
	var ok bool
	s.withChannel(t, func(ch *amqp.Channel) error {
		var err error
		d, ok, err = ch.Get(name, true)
		return err
	})
	return d, ok
}

// WithChannel runs f on a fresh channel of a fresh connection.
func (s Stack) WithChannel(t testing.TB, f func(ch *amqp.Channel) error) {
	t.Helper()
	s.withChannel(t, f)
}

func (s Stack) withChannel(t testing.TB, f func(ch *amqp.Channel) error) {
	t.Helper()
	conn, err := amqp.Dial(s.AMQPURL)
	if err != nil {
		t.Fatalf("amqp dial: %v", err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatalf("amqp channel: %v", err)
	}
	if err := f(ch); err != nil {
		t.Fatalf("amqp: %v", err)
	}
}

// User is a user of the Auth emulator with a fresh ID token.
type User struct {
	UID   string
	Email string
	Token string
}

// UserOpts shape a test user.
type UserOpts struct {
	// StaffOf, when set, makes the user staff of that event (the staff
	// claim, auth.StaffClaim); it counts only with EmailVerified.
	StaffOf       string
	EmailVerified bool
}

// Password is every NewUser's password.
const Password = "correct horse battery"

// NewUser creates a user on the Auth emulator and signs them in.
func (s Stack) NewUser(t testing.TB, opts UserOpts) User {
	t.Helper()
	ctx := Ctx(t)
	client := s.AuthClient(t)
	email := Unique("user") + "@example.test"
	rec, err := client.CreateUser(ctx, (&fbauth.UserToCreate{}).Email(email).Password(Password).EmailVerified(opts.EmailVerified))
	if err != nil {
		t.Fatalf("create user: %v", err)
	}
	if opts.StaffOf != "" {
		if err := client.SetCustomUserClaims(ctx, rec.UID, map[string]any{"staff": []string{opts.StaffOf}}); err != nil {
			t.Fatalf("set staff claim: %v", err)
		}
	}
	return User{UID: rec.UID, Email: email, Token: s.SignIn(t, email, Password)}
}

// NewGuest signs a guest in (anonymous sign-in through the emulator's REST
// API, as the app's "Continue as guest" does).
func (s Stack) NewGuest(t testing.TB) User {
	t.Helper()
	url := fmt.Sprintf("http://%s/identitytoolkit.googleapis.com/v1/accounts:signUp?key=emulator", s.AuthHost)
	resp, err := http.Post(url, "application/json", strings.NewReader(`{"returnSecureToken": true}`))
	if err != nil {
		t.Fatalf("sign in as guest: %v", err)
	}
	defer resp.Body.Close()
	var out struct {
		IDToken string `json:"idToken"`
		LocalID string `json:"localId"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.IDToken == "" {
		t.Fatalf("sign in as guest: status %d, decode %v", resp.StatusCode, err)
	}
	return User{UID: out.LocalID, Token: out.IDToken}
}

// EmailLinkUser is an account signed in with an emailed link.
type EmailLinkUser struct {
	User
	RefreshToken string
}

// SignInWithEmailLink signs in to email's account (made when new) with an
// emailed link, as the app's email-link flow does: the link's code is read
// from the emulator's list of codes it sent. The address is verified.
func (s Stack) SignInWithEmailLink(t testing.TB, email string) EmailLinkUser {
	t.Helper()
	api := fmt.Sprintf("http://%s/identitytoolkit.googleapis.com/v1/", s.AuthHost)
	post := func(path string, body, out any) {
		t.Helper()
		raw, _ := json.Marshal(body)
		resp, err := http.Post(api+path+"?key=emulator", "application/json", bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			msg, _ := io.ReadAll(resp.Body)
			t.Fatalf("%s: %s: %s", path, resp.Status, msg)
		}
		if out != nil {
			if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
		}
	}
	post("accounts:sendOobCode", map[string]any{"requestType": "EMAIL_SIGNIN", "email": email,
		"continueUrl": "http://127.0.0.1/", "canHandleCodeInApp": true}, nil)
	resp, err := http.Get(fmt.Sprintf("http://%s/emulator/v1/projects/%s/oobCodes", s.AuthHost, s.Project))
	if err != nil {
		t.Fatalf("oobCodes: %v", err)
	}
	defer resp.Body.Close()
	var codes struct {
		OOBCodes []struct {
			Email, OOBCode, RequestType string
		} `json:"oobCodes"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&codes); err != nil {
		t.Fatalf("oobCodes: %v", err)
	}
	code := ""
	for _, c := range codes.OOBCodes {
		if strings.EqualFold(c.Email, email) && c.RequestType == "EMAIL_SIGNIN" {
			code = c.OOBCode // the newest is last
		}
	}
	if code == "" {
		t.Fatalf("no sign-in link was sent to %s", email)
	}
	var out struct {
		IDToken      string `json:"idToken"`
		RefreshToken string `json:"refreshToken"`
		LocalID      string `json:"localId"`
	}
	post("accounts:signInWithEmailLink", map[string]any{"email": email, "oobCode": code}, &out)
	return EmailLinkUser{User: User{UID: out.LocalID, Email: email, Token: out.IDToken}, RefreshToken: out.RefreshToken}
}

// SignIn signs in with email and password through the emulator's REST API,
// as the app would, and returns the ID token.
func (s Stack) SignIn(t testing.TB, email, password string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"email": email, "password": password, "returnSecureToken": true})
	url := fmt.Sprintf("http://%s/identitytoolkit.googleapis.com/v1/accounts:signInWithPassword?key=emulator", s.AuthHost)
	resp, err := http.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("sign in: %v", err)
	}
	defer resp.Body.Close()
	var out struct {
		IDToken string `json:"idToken"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.IDToken == "" {
		t.Fatalf("sign in: status %d, decode %v", resp.StatusCode, err)
	}
	return out.IDToken
}

// AuthClient is the Admin SDK's Auth client on the emulator.
func (s Stack) AuthClient(t testing.TB) *fbauth.Client {
	t.Helper()
	app, err := firebase.NewApp(context.Background(), &firebase.Config{ProjectID: s.Project})
	if err != nil {
		t.Fatalf("firebase app: %v", err)
	}
	client, err := app.Auth(context.Background())
	if err != nil {
		t.Fatalf("auth client: %v", err)
	}
	return client
}

// UnsignedToken builds an emulator-style ID token (alg "none") with the
// standard claims for uid, overridden by extra; tests use it for expired
// and forged tokens.
func (s Stack) UnsignedToken(uid string, extra map[string]any) string {
	now := time.Now()
	claims := map[string]any{
		"iss":       "https://securetoken.google.com/" + s.Project,
		"aud":       s.Project,
		"sub":       uid,
		"user_id":   uid,
		"iat":       now.Add(-time.Minute).Unix(),
		"exp":       now.Add(time.Hour).Unix(),
		"auth_time": now.Add(-time.Minute).Unix(),
		"firebase":  map[string]any{"sign_in_provider": "password", "identities": map[string]any{}},
	}
	for k, v := range extra {
		claims[k] = v
	}
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(map[string]any{"alg": "none", "typ": "JWT"}) + "." + enc(claims) + "."
}

// EventuallyTimeout is how long Eventually polls before failing the test.
const EventuallyTimeout = 60 * time.Second

// Eventually polls cond until it holds, failing the test after
// EventuallyTimeout: tests wait for a condition, never for a fixed time.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(EventuallyTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", EventuallyTimeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Collections returns the root collections of fs's database, whichever
// exist on the emulator, that hold a document with id, sorted.
func Collections(t testing.TB, fs *firestore.Client, id string) []string {
	t.Helper()
	var found []string
	for _, c := range rootCollections(t, fs) {
		snap, err := c.Doc(id).Get(Ctx(t))
		if err == nil && snap.Exists() {
			found = append(found, c.ID)
		}
	}
	slices.Sort(found)
	return found
}

func rootCollections(t testing.TB, fs *firestore.Client) []*firestore.CollectionRef {
	t.Helper()
	cs, err := fs.Collections(Ctx(t)).GetAll()
	if err != nil {
		t.Fatalf("listing collections: %v", err)
	}
	return cs
}

// OwnFirestore returns an admin client of a database no other test uses
// (the emulator keeps one per project id, and this one is the test's own),
// so that everything in it was written by the test: a write-scope test
// reads it back whole with Touched instead of looking where it expects.
func (s Stack) OwnFirestore(t testing.TB) *firestore.Client {
	t.Helper()
	fs, err := firestore.NewClient(context.Background(), Unique("scope"))
	if err != nil {
		t.Fatalf("firestore client: %v", err)
	}
	t.Cleanup(func() { fs.Close() })
	return fs
}

// Touched runs write and returns the documents it created, changed or
// deleted anywhere in fs's database (every collection and subcollection
// there is, read back whole before and after), as sorted paths
// "collection/id[/sub/id...]". Use it on an OwnFirestore database.
func Touched(t testing.TB, fs *firestore.Client, write func() error) []string {
	t.Helper()
	before := contents(t, fs)
	if err := write(); err != nil {
		t.Fatal(err)
	}
	after := contents(t, fs)
	var touched []string
	for path, at := range after {
		if was, ok := before[path]; !ok || !was.Equal(at) {
			touched = append(touched, path)
		}
	}
	for path := range before {
		if _, ok := after[path]; !ok {
			touched = append(touched, path)
		}
	}
	slices.Sort(touched)
	return touched
}

// contents maps every document of the database to its update time.
func contents(t testing.TB, fs *firestore.Client) map[string]time.Time {
	t.Helper()
	ctx := Ctx(t)
	docs := make(map[string]time.Time)
	var walk func(cs []*firestore.CollectionRef, prefix string)
	walk = func(cs []*firestore.CollectionRef, prefix string) {
		for _, c := range cs {
			// DocumentRefs also lists documents that exist only as the
			// parent of a subcollection.
			refs, err := c.DocumentRefs(ctx).GetAll()
			if err != nil {
				t.Fatalf("listing %s: %v", c.Path, err)
			}
			for _, ref := range refs {
				path := prefix + c.ID + "/" + ref.ID
				snap, err := ref.Get(ctx)
				switch {
				case err == nil:
					docs[path] = snap.UpdateTime
				case status.Code(err) != codes.NotFound:
					t.Fatalf("reading %s: %v", path, err)
				}
				subs, err := ref.Collections(ctx).GetAll()
				if err != nil {
					t.Fatalf("listing the collections of %s: %v", path, err)
				}
				walk(subs, path+"/")
			}
		}
	}
	walk(rootCollections(t, fs), "")
	return docs
}

// Methods returns the names of v's exported methods, sorted: a writer's
// whole write scope.
func Methods(v any) []string {
	typ := reflect.TypeOf(v)
	var names []string
	for i := range typ.NumMethod() {
		names = append(names, typ.Method(i).Name)
	}
	slices.Sort(names)
	return names
}

// Consistently checks that cond holds for the whole window, polling: the
// one way to give a wrong outcome (a second delivery, an extra message) the
// chance to show, where no event says that nothing more will come.
func Consistently(t testing.TB, what string, window time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(window)
	for {
		if !cond() {
			t.Fatalf("%s stopped holding", what)
		}
		if time.Now().After(deadline) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}
