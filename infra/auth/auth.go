// Package auth verifies Firebase ID tokens. With FIREBASE_AUTH_EMULATOR_HOST
// set, the Admin SDK accepts the emulator's unsigned tokens and checks each
// against the emulator's user list; in the cloud it checks Google's
// signatures.
package auth

import (
	"context"
	"errors"
	"fmt"

	firebase "firebase.google.com/go/v4"
	fbauth "firebase.google.com/go/v4/auth"
)

// ErrInvalidToken means the token is missing, malformed, forged, expired or
// revoked. The cause is wrapped for logs but never shown to clients.
var ErrInvalidToken = errors.New("invalid ID token")

// User is the verified caller.
type User struct {
	UID           string
	Email         string
	EmailVerified bool
	// Staff is the custom claim `staff: true` that allows booth priority and
	// reading other users' jobs.
	Staff bool
}

// Verifier checks ID tokens.
type Verifier struct {
	client *fbauth.Client
}

// NewVerifier builds a verifier for the Firebase project.
func NewVerifier(ctx context.Context, project string) (*Verifier, error) {
	app, err := firebase.NewApp(ctx, &firebase.Config{ProjectID: project})
	if err != nil {
		return nil, fmt.Errorf("auth.NewVerifier: %w", err)
	}
	client, err := app.Auth(ctx)
	if err != nil {
		return nil, fmt.Errorf("auth.NewVerifier: %w", err)
	}
	return &Verifier{client: client}, nil
}

// Verify returns the user a token belongs to.
func (v *Verifier) Verify(ctx context.Context, idToken string) (User, error) {
	if idToken == "" {
		return User{}, fmt.Errorf("%w: empty", ErrInvalidToken)
	}
	tok, err := v.client.VerifyIDToken(ctx, idToken)
	switch {
	case err == nil:
	case fbauth.IsIDTokenInvalid(err), fbauth.IsUserNotFound(err), fbauth.IsUserDisabled(err):
		return User{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	default:
		// Fetching Google's keys (or, locally, the emulator's user) failed:
		// the token may be fine, so the caller should retry, not re-login.
		return User{}, fmt.Errorf("auth.Verify: %w", err)
	}
	u := User{UID: tok.UID}
	u.Email, _ = tok.Claims["email"].(string)
	u.EmailVerified, _ = tok.Claims["email_verified"].(bool)
	u.Staff, _ = tok.Claims["staff"].(bool)
	return u, nil
}
