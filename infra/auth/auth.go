// Package auth verifies Firebase ID tokens and refuses those of users who
// were disabled, deleted or had their tokens revoked since the token was
// issued.
//
// An ID token is valid for an hour, and checking its signature alone says
// nothing about the user since: in the cloud the Admin SDK's VerifyIDToken
// makes no call (but the occasional fetch of Google's keys), while
// VerifyIDTokenAndCheckRevoked looks the user up on every call. The Verifier checks the token itself, then asks a per-user cache
// (CacheConfig) whether the user still exists, is enabled, and had no tokens
// revoked after this one was issued; the cache looks a user up at most once
// per TTL, so the check costs about one lookup per active user a minute.
//
// With FIREBASE_AUTH_EMULATOR_HOST set, the Admin SDK accepts the
// emulator's unsigned tokens and its VerifyIDToken then looks the user up on
// every call, whatever the caller asked (firebase.google.com/go/v4/auth,
// baseClient.verifyIDToken: `if c.isEmulator || checkRevokedOrDisabled`).
// So that the cache applies locally too, and its behaviour is tested where
// it runs, the Verifier does not call VerifyIDToken in that mode: it makes
// the same checks of the unsigned token's claims as the SDK (emulator.go),
// then uses the same cached lookup as in the cloud.
package auth

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	firebase "firebase.google.com/go/v4"
	fbauth "firebase.google.com/go/v4/auth"
)

// ErrInvalidToken means the token is missing, malformed, forged, expired or
// revoked, or its user is disabled or deleted. The cause is wrapped for logs
// but never shown to clients. Any other error from Verify means the check
// could not be made (the user lookup failed) and the caller should retry.
var ErrInvalidToken = errors.New("invalid ID token")

// User is the verified caller.
type User struct {
	UID           string
	Email         string
	EmailVerified bool
	// StaffEvents are the events named by the user's staff claim (see
	// StaffClaim); they count only with a verified email (StaffOf).
	StaffEvents []string
	// Anonymous is a guest of the app (Firebase anonymous sign-in): the
	// account has no credential and holds nothing but its own jobs.
	Anonymous bool
	// Phone is the number the user proved with Firebase Auth's phone
	// sign-in or linking (the token's phone_number claim, E.164); Firebase
	// sets it only after the code was confirmed.
	Phone string
}

// StaffOf reports whether the user is staff of event: booth priority, the
// booth's board and reading that event's jobs. Only a verified address
// counts: a claim granted to an address nobody proved would hand staff
// rights to whoever registered it first.
func (u User) StaffOf(event string) bool {
	return u.EmailVerified && event != "" && slices.Contains(u.StaffEvents, event)
}

// StaffClaim is the custom claim naming the events whose staff a user is:
// {"staff": ["spring-gala"]}. A project's events share its accounts, so a
// staff member of one event is nobody at another (firestore.rules reads
// the same claim).
const StaffClaim = "staff"

// StaffEvents reads the staff claim from a user's custom claims (or a
// token's claims); anything but a list of event names gives none.
func StaffEvents(claims map[string]any) []string {
	list, _ := claims[StaffClaim].([]any)
	var events []string
	for _, v := range list {
		if e, ok := v.(string); ok && e != "" && !slices.Contains(events, e) {
			events = append(events, e)
		}
	}
	return events
}

// WithStaff returns a copy of claims in which the staff claim names event
// (on) or no longer names it, and reports whether that changed anything.
// Other claims are kept; an old claim of another shape is replaced.
func WithStaff(claims map[string]any, event string, on bool) (map[string]any, bool) {
	out := make(map[string]any, len(claims)+1)
	for k, v := range claims {
		out[k] = v
	}
	events := StaffEvents(claims)
	had := slices.Contains(events, event)
	switch {
	case on && !had:
		events = append(events, event)
	case !on && had:
		events = slices.DeleteFunc(events, func(e string) bool { return e == event })
	}
	if len(events) == 0 {
		delete(out, StaffClaim)
	} else {
		out[StaffClaim] = events
	}
	_, shaped := claims[StaffClaim].([]any)
	changed := had != on || (claims[StaffClaim] != nil && !shaped)
	return out, changed
}

// emulatorHostEnv is the variable the Admin SDK reads to switch to the Auth
// emulator (firebase.google.com/go/v4/auth.emulatorHostEnvVar).
const emulatorHostEnv = "FIREBASE_AUTH_EMULATOR_HOST"

// decodeFunc checks a token's form, claims and (in the cloud) signature
// without looking its user up. Errors that make the token invalid wrap
// ErrInvalidToken; any other error means the check could not be made.
type decodeFunc func(ctx context.Context, idToken string) (*fbauth.Token, error)

// Verifier checks ID tokens. It is safe for concurrent use.
type Verifier struct {
	decode decodeFunc
	users  *userCache
}

// Option changes how NewVerifier builds a Verifier.
type Option func(*options)

type options struct {
	cache CacheConfig
	now   func() time.Time
	// wrapLookup lets tests count or fail the user lookups.
	wrapLookup func(lookupFunc) lookupFunc
}

// WithCache sets the per-user cache; without it, DefaultCacheConfig.
func WithCache(c CacheConfig) Option {
	return func(o *options) { o.cache = c }
}

// NewClient opens the Firebase Admin SDK's Auth client for project: the Auth
// emulator's when FIREBASE_AUTH_EMULATOR_HOST is set, as the SDK decides.
func NewClient(ctx context.Context, project string) (*fbauth.Client, error) {
	app, err := firebase.NewApp(ctx, &firebase.Config{ProjectID: project})
	if err != nil {
		return nil, fmt.Errorf("firebase app: %w", err)
	}
	client, err := app.Auth(ctx)
	if err != nil {
		return nil, fmt.Errorf("firebase auth client: %w", err)
	}
	return client, nil
}

// NewVerifier builds a verifier for the Firebase project.
func NewVerifier(ctx context.Context, project string, opts ...Option) (*Verifier, error) {
	o := options{cache: DefaultCacheConfig(), now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	if err := o.cache.Validate(); err != nil {
		return nil, fmt.Errorf("auth.NewVerifier: %w", err)
	}
	client, err := NewClient(ctx, project)
	if err != nil {
		return nil, fmt.Errorf("auth.NewVerifier: %w", err)
	}
	decode := sdkDecoder(client)
	// The mode must be the SDK's own: read from the same variable when the
	// client was built, not from configuration that could disagree with it.
	// Were it to say "emulator" while the SDK talks to the cloud, unsigned
	// tokens would be accepted there.
	if os.Getenv(emulatorHostEnv) != "" {
		if project == "" {
			return nil, fmt.Errorf("auth.NewVerifier: %s is set but the project is empty", emulatorHostEnv)
		}
		decode = emulatorDecoder(project, o.now)
	}
	lookup := sdkLookup(client)
	if o.wrapLookup != nil {
		lookup = o.wrapLookup(lookup)
	}
	return newVerifier(decode, lookup, o.cache, o.now), nil
}

func newVerifier(decode decodeFunc, lookup lookupFunc, c CacheConfig, now func() time.Time) *Verifier {
	return &Verifier{decode: decode, users: newUserCache(lookup, c, now)}
}

// sdkDecoder checks the token's signature with Google's keys; in the cloud
// VerifyIDToken makes no call but the occasional fetch of those keys.
func sdkDecoder(client *fbauth.Client) decodeFunc {
	return func(ctx context.Context, idToken string) (*fbauth.Token, error) {
		tok, err := client.VerifyIDToken(ctx, idToken)
		switch {
		case err == nil:
			return tok, nil
		case fbauth.IsIDTokenInvalid(err):
			return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
		default:
			// Fetching Google's keys failed: the token may be fine, so the
			// caller should retry, not re-login.
			return nil, fmt.Errorf("auth.Verify: %w", err)
		}
	}
}

// sdkLookup reads a user with the Admin SDK. A user that does not exist is
// a result (it is cached like any other), not an error.
func sdkLookup(client *fbauth.Client) lookupFunc {
	return func(ctx context.Context, uid string) (userState, error) {
		rec, err := client.GetUser(ctx, uid)
		switch {
		case err == nil:
			return userState{disabled: rec.Disabled, validAfterMillis: rec.TokensValidAfterMillis, credentials: len(rec.ProviderUserInfo)}, nil
		case fbauth.IsUserNotFound(err):
			return userState{missing: true}, nil
		default:
			return userState{}, fmt.Errorf("auth: look up user %s: %w", uid, err)
		}
	}
}

// Verify returns the user a token belongs to. A token that is not valid, or
// whose user is deleted, disabled or had tokens revoked after it was issued
// (as last seen by the cache), is ErrInvalidToken.
func (v *Verifier) Verify(ctx context.Context, idToken string) (User, error) {
	if idToken == "" {
		return User{}, fmt.Errorf("%w: empty", ErrInvalidToken)
	}
	tok, err := v.decode(ctx, idToken)
	if err != nil {
		return User{}, err
	}
	st, err := v.users.get(ctx, tok.UID)
	if err != nil {
		// Not a verdict on the token: the Gateway answers 503, not 401.
		return User{}, fmt.Errorf("auth.Verify: %w", err)
	}
	switch {
	case st.missing:
		return User{}, fmt.Errorf("%w: user %s does not exist", ErrInvalidToken, tok.UID)
	case st.disabled:
		return User{}, fmt.Errorf("%w: user %s is disabled", ErrInvalidToken, tok.UID)
	// The same comparison as the SDK's checkRevokedOrDisabled: the valid-after
	// time has whole seconds, so a token issued in the second of the
	// revocation is still accepted.
	case tok.IssuedAt*1000 < st.validAfterMillis:
		return User{}, fmt.Errorf("%w: token of user %s was revoked", ErrInvalidToken, tok.UID)
	}
	u := User{UID: tok.UID}
	u.Email, _ = tok.Claims["email"].(string)
	u.EmailVerified, _ = tok.Claims["email_verified"].(bool)
	u.Phone, _ = tok.Claims["phone_number"].(string)
	u.StaffEvents = StaffEvents(tok.Claims)
	u.Anonymous = tok.Firebase.SignInProvider == "anonymous"
	return u, nil
}

// StillGuest reports whether uid is, right now, a guest: an anonymous
// account with no sign-in method linked, neither deleted nor disabled. A
// guest's ID token keeps saying "anonymous" for up to an hour after the
// guest was linked to an email or Google, so what may be done only with a
// guest's jobs asks the account itself, bypassing the cache.
func (v *Verifier) StillGuest(ctx context.Context, uid string) (bool, error) {
	st, err := v.users.lookup(ctx, uid)
	if err != nil {
		return false, fmt.Errorf("auth.StillGuest: %w", err)
	}
	return !st.missing && !st.disabled && st.credentials == 0, nil
}
