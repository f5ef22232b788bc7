package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	fbauth "firebase.google.com/go/v4/auth"
)

// clockSkew is the SDK's tolerance on iat and exp (token_verifier.go,
// clockSkewSeconds).
const clockSkew = 300 * time.Second

// emulatorDecoder checks an Auth emulator token the way the Admin SDK does
// in emulator mode (tokenVerifier.VerifyToken with isEmulator: the header's
// alg and kid and the signature are not checked, since the emulator signs
// nothing), without the per-call user lookup the SDK adds there. Only ever
// used when FIREBASE_AUTH_EMULATOR_HOST is set, where the SDK itself would
// accept the same unsigned tokens.
func emulatorDecoder(project string, now func() time.Time) decodeFunc {
	issuer := "https://securetoken.google.com/" + project
	return func(_ context.Context, idToken string) (*fbauth.Token, error) {
		tok, err := decodeUnsigned(idToken)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
		}
		t := now()
		switch {
		case tok.Audience != project:
			err = fmt.Errorf("aud %q, want %q", tok.Audience, project)
		case tok.Issuer != issuer:
			err = fmt.Errorf("iss %q, want %q", tok.Issuer, issuer)
		case tok.Subject == "":
			err = fmt.Errorf("empty sub")
		case len(tok.Subject) > 128:
			err = fmt.Errorf("sub longer than 128 characters")
		case time.Unix(tok.IssuedAt, 0).Add(-clockSkew).After(t):
			err = fmt.Errorf("issued in the future (iat %d)", tok.IssuedAt)
		case time.Unix(tok.Expires, 0).Add(clockSkew).Before(t):
			err = fmt.Errorf("expired at %d", tok.Expires)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
		}
		return tok, nil
	}
}

// decodeUnsigned parses a JWT's header and payload into a Token, with the
// custom claims in Claims, as the SDK's verifyHeaderAndBody does.
func decodeUnsigned(idToken string) (*fbauth.Token, error) {
	var tok fbauth.Token
	if err := UnverifiedPayload(idToken, &tok); err != nil {
		return nil, err
	}
	if err := UnverifiedPayload(idToken, &tok.Claims); err != nil {
		return nil, err
	}
	for _, standard := range []string{"iss", "aud", "exp", "iat", "sub", "uid"} {
		delete(tok.Claims, standard)
	}
	tok.UID = tok.Subject
	return &tok, nil
}

// UnverifiedPayload decodes a JWT's payload into v after checking the
// token's shape (three segments, a JSON header), without checking its
// signature: for the emulators' unsigned tokens, or a token whose
// signature was checked elsewhere.
func UnverifiedPayload(jwt string, v any) error {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return fmt.Errorf("%d segments, want 3", len(parts))
	}
	var header map[string]any
	if err := decodeSegment(parts[0], &header); err != nil {
		return fmt.Errorf("header: %w", err)
	}
	if err := decodeSegment(parts[1], v); err != nil {
		return fmt.Errorf("payload: %w", err)
	}
	return nil
}

func decodeSegment(s string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}
