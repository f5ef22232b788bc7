package gateway_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"image"
	"image/png"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tigerstudio/studio/functions/gateway"
	"github.com/tigerstudio/studio/infra/testenv"
)

// pngBomb is a tiny PNG whose header claims w x h pixels.
func pngBomb(t testing.TB, w, h uint32) []byte {
	data := pngBytes(t, 1, 1)
	ihdr := data[16:29]
	binary.BigEndian.PutUint32(ihdr[0:4], w)
	binary.BigEndian.PutUint32(ihdr[4:8], h)
	binary.BigEndian.PutUint32(data[29:], crc32.ChecksumIEEE(data[12:29]))
	return data
}

// rsaToken signs claims with a key of the test's own: a forgery.
func rsaToken(t testing.TB, claims map[string]any) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	signing := enc(map[string]any{"alg": "RS256", "kid": "forged", "typ": "JWT"}) + "." + enc(claims)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, 5, sum[:]) // 5 = crypto.SHA256
	if err != nil {
		t.Fatal(err)
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// TestCreateJobRejects sends every kind of bad submission and checks each is
// refused with its code and leaves no document, object or message.
func TestCreateJobRejects(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	user := f.stack.NewUser(t, testenv.UserOpts{EmailVerified: true})
	jpg := jpegBytes(t, 64, 64)
	now := time.Now()
	forgedClaims := map[string]any{
		"iss": "https://securetoken.google.com/" + f.stack.Project, "aud": f.stack.Project,
		"sub": "nobody-" + testenv.Unique("x"), "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"auth_time": now.Unix(), "staff": true,
	}

	tests := []struct {
		name       string
		token      string
		form       form
		header     map[string]string
		wantStatus int
		wantCode   string
	}{
		{"not an image", user.Token, form{photo: []byte("just some text, no pixels"), declared: "image/jpeg", fields: map[string]string{"style": "sketch"}}, nil, 415, "unsupported_media_type"},
		{"lying content type", user.Token, form{photo: pngBytes(t, 10, 10), declared: "image/jpeg", fields: map[string]string{"style": "sketch"}}, nil, 415, "unsupported_media_type"},
		{"HEIC", user.Token, form{photo: append([]byte{0, 0, 0, 24}, []byte("ftypheic\x00\x00\x00\x00mif1heic")...), declared: "image/heic", fields: map[string]string{"style": "sketch"}}, nil, 415, "unsupported_media_type"},
		{"truncated", user.Token, form{photo: jpg[:len(jpg)*2/3], declared: "image/jpeg", fields: map[string]string{"style": "sketch"}}, nil, 400, "invalid_argument"},
		{"too many bytes", user.Token, form{photo: append(append([]byte{}, jpg...), bytes.Repeat([]byte{0}, 2<<20)...), declared: "image/jpeg", fields: map[string]string{"style": "sketch"}}, nil, 413, "too_large"},
		{"pixel bomb", user.Token, form{photo: pngBomb(t, 60000, 60000), declared: "image/png", fields: map[string]string{"style": "sketch"}}, nil, 413, "too_large"},
		{"a strip, 2 x 1,000,000", user.Token, form{photo: pngBomb(t, 2, 1_000_000), declared: "image/png", fields: map[string]string{"style": "sketch"}}, nil, 400, "invalid_argument"},
		{"too elongated, 400 x 90", user.Token, form{photo: jpegBytes(t, 400, 90), declared: "image/jpeg", fields: map[string]string{"style": "sketch"}}, nil, 400, "invalid_argument"},
		{"a thumbnail, 12 x 12", user.Token, form{photo: jpegBytes(t, 12, 12), declared: "image/jpeg", fields: map[string]string{"style": "sketch"}}, nil, 400, "invalid_argument"},
		{"mail to a stranger", user.Token, form{photo: jpg, declared: "image/jpeg", fields: map[string]string{"style": "sketch", "email": "stranger@example.test"}}, nil, 403, "permission_denied"},
		{"unknown style", user.Token, form{photo: jpg, declared: "image/jpeg", fields: map[string]string{"style": "cubism"}}, nil, 400, "invalid_argument"},
		{"missing style", user.Token, form{photo: jpg, declared: "image/jpeg"}, nil, 400, "invalid_argument"},
		{"missing photo", user.Token, form{noPhoto: true, fields: map[string]string{"style": "sketch"}}, nil, 400, "invalid_argument"},
		{"empty photo", user.Token, form{photo: []byte{}, fields: map[string]string{"style": "sketch"}}, nil, 400, "invalid_argument"},
		{"unknown priority", user.Token, form{photo: jpg, declared: "image/jpeg", fields: map[string]string{"style": "sketch", "priority": "vip"}}, nil, 400, "invalid_argument"},
		{"booth without staff claim", user.Token, form{photo: jpg, declared: "image/jpeg", fields: map[string]string{"style": "sketch", "priority": "booth"}}, nil, 403, "permission_denied"},
		{"bad email", user.Token, form{photo: jpg, declared: "image/jpeg", fields: map[string]string{"style": "sketch", "email": "not-an-address"}}, nil, 400, "invalid_argument"},
		{"oversized idempotency key", user.Token, validForm(t), map[string]string{"Idempotency-Key": strings.Repeat("k", 300)}, 400, "invalid_argument"},
		{"missing token", "", validForm(t), nil, 401, "unauthenticated"},
		{"malformed header", "", validForm(t), map[string]string{"Authorization": "Basic dXNlcjpwYXNz"}, 401, "unauthenticated"},
		{"garbage token", "not.a.jwt", validForm(t), nil, 401, "unauthenticated"},
		{"expired token", f.stack.UnsignedToken(user.UID, map[string]any{"iat": now.Add(-3 * time.Hour).Unix(), "exp": now.Add(-2 * time.Hour).Unix()}), validForm(t), nil, 401, "unauthenticated"},
		{"forged token for an unknown user", rsaToken(t, forgedClaims), validForm(t), nil, 401, "unauthenticated"},
		{"token for another project", f.stack.UnsignedToken(user.UID, map[string]any{"aud": "someone-elses-project", "iss": "https://securetoken.google.com/someone-elses-project"}), validForm(t), nil, 401, "unauthenticated"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := f.submit(t, tc.token, tc.form, tc.header)
			if r.status != tc.wantStatus || r.errorCode() != tc.wantCode {
				t.Fatalf("got %d %v, want %d %s", r.status, r.body, tc.wantStatus, tc.wantCode)
			}
			e, _ := r.body["error"].(map[string]any)
			if msg, _ := e["message"].(string); msg == "" {
				t.Errorf("error has no message: %v", r.body)
			}
			f.assertNothingLeft(t, user.UID)
		})
	}
}

func TestCreateJobNotMultipart(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	user := f.stack.NewUser(t, testenv.UserOpts{})
	req, _ := http.NewRequest(http.MethodPost, f.url+"/v1/jobs", strings.NewReader(`{"style":"sketch"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+user.Token)
	if r := do(t, req); r.status != 415 || r.errorCode() != "unsupported_media_type" {
		t.Fatalf("got %d %v", r.status, r.body)
	}
	f.assertNothingLeft(t, user.UID)
}

// TestPixelLimitFollowsSetting moves MAX_PIXELS both ways around the
// default (25 MP): a photo one pixel row over the setting is refused with
// 413 and leaves nothing, one at the setting is accepted.
func TestPixelLimitFollowsSetting(t *testing.T) {
	t.Parallel()
	// A valid PNG of w x h (uniform, so small whatever its size).
	flat := func(w, h int) []byte {
		var buf bytes.Buffer
		if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, w, h))); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	for _, tc := range []struct {
		name      string
		maxPixels int64
		w, h      int
	}{
		{"below the default", 1_000_000, 1000, 1000},
		{"above the default", 30_000_000, 6000, 5000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, func(c *gateway.Config) { c.MaxPixels = tc.maxPixels })
			user := f.stack.NewUser(t, testenv.UserOpts{})
			over := form{photo: pngBomb(t, uint32(tc.w), uint32(tc.h+1)), declared: "image/png", fields: map[string]string{"style": "sketch"}}
			if r := f.submit(t, user.Token, over, nil); r.status != 413 || r.errorCode() != "too_large" {
				t.Fatalf("%dx%d under MAX_PIXELS=%d: %d %v, want 413 too_large", tc.w, tc.h+1, tc.maxPixels, r.status, r.body)
			}
			f.assertNothingLeft(t, user.UID)
			at := form{photo: flat(tc.w, tc.h), declared: "image/png", fields: map[string]string{"style": "sketch"}}
			if r := f.submit(t, user.Token, at, nil); r.status != 202 {
				t.Fatalf("%dx%d under MAX_PIXELS=%d: %d %v, want 202", tc.w, tc.h, tc.maxPixels, r.status, r.body)
			}
		})
	}
}
