package blob

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/storage"
	"google.golang.org/api/option"
)

// serviceAccount returns a made-up service account key, as a credentials
// file holds it, and its public key. Signing is local: no network.
func serviceAccount(t *testing.T) ([]byte, *rsa.PublicKey) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	creds, _ := json.Marshal(map[string]string{
		"type":         "service_account",
		"project_id":   "p",
		"client_email": "gateway@p.iam.gserviceaccount.com",
		"client_id":    "1",
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"token_uri":    "https://oauth2.googleapis.com/token",
	})
	return creds, &key.PublicKey
}

// TestSignedURL checks the cloud's download links: V4, signed by the
// service account, valid for Expiry, and the signature verifies with the
// account's public key over the canonical request (so a link to another
// object or with another expiry would not).
func TestSignedURL(t *testing.T) {
	// With the stack's environment the client would talk to the emulator,
	// which has no signer.
	t.Setenv("STORAGE_EMULATOR_HOST", "")
	creds, pub := serviceAccount(t)
	client, err := storage.NewClient(context.Background(), option.WithAuthCredentialsJSON(option.ServiceAccount, creds))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	urls := NewURLs(client, "", 2*time.Hour)
	if _, ok := urls.(SignedURLs); !ok {
		t.Fatalf("NewURLs without an emulator = %T, want SignedURLs", urls)
	}
	before := time.Now().UTC().Add(-time.Second)
	raw, err := urls.URL(context.Background(), "tiger-output", "job 1/sketch-a1-0.jpg")
	if err != nil {
		t.Fatalf("URL: %v", err)
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Scheme != "https" || u.Host != "storage.googleapis.com" || u.EscapedPath() != "/tiger-output/job%201/sketch-a1-0.jpg" {
		t.Errorf("URL %s: want https://storage.googleapis.com/tiger-output/<escaped object>", raw)
	}
	for k, want := range map[string]string{
		"X-Goog-Algorithm":     "GOOG4-RSA-SHA256",
		"X-Goog-SignedHeaders": "host",
	} {
		if q.Get(k) != want {
			t.Errorf("%s = %q, want %q", k, q.Get(k), want)
		}
	}
	// Expires counts from the signing second: 7200 s, or 7199 when the
	// clock ticked between the two readings.
	if e := q.Get("X-Goog-Expires"); e != "7200" && e != "7199" {
		t.Errorf("X-Goog-Expires = %q, want 2 h", e)
	}
	date, err := time.Parse("20060102T150405Z", q.Get("X-Goog-Date"))
	if err != nil || date.Before(before.Truncate(time.Second)) || date.After(time.Now().UTC()) {
		t.Errorf("X-Goog-Date %q is not now (%v)", q.Get("X-Goog-Date"), err)
	}
	credential := q.Get("X-Goog-Credential")
	if !strings.HasPrefix(credential, "gateway@p.iam.gserviceaccount.com/") {
		t.Errorf("X-Goog-Credential %q is not the service account's", credential)
	}

	// Verify the signature as Cloud Storage does.
	sig, err := hex.DecodeString(q.Get("X-Goog-Signature"))
	if err != nil {
		t.Fatalf("signature: %v", err)
	}
	q.Del("X-Goog-Signature")
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var query []string
	for _, k := range keys {
		query = append(query, url.QueryEscape(k)+"="+strings.ReplaceAll(url.QueryEscape(q.Get(k)), "+", "%20"))
	}
	canonical := strings.Join([]string{
		"GET", u.EscapedPath(), strings.Join(query, "&"),
		"host:storage.googleapis.com\n", "host", "UNSIGNED-PAYLOAD",
	}, "\n")
	hashed := sha256.Sum256([]byte(canonical))
	scope := strings.TrimPrefix(credential, "gateway@p.iam.gserviceaccount.com/")
	toSign := strings.Join([]string{"GOOG4-RSA-SHA256", q.Get("X-Goog-Date"), scope, hex.EncodeToString(hashed[:])}, "\n")
	digest := sha256.Sum256([]byte(toSign))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig); err != nil {
		t.Errorf("signature does not verify with the service account's key: %v", err)
	}
}

func TestEmulatorURLs(t *testing.T) {
	tests := []struct{ host, want string }{
		{"127.0.0.1:9023", "http://127.0.0.1:9023/storage/v1/b/out/o/job%2Fa.jpg?alt=media"},
		{"http://gcs:4443/", "http://gcs:4443/storage/v1/b/out/o/job%2Fa.jpg?alt=media"},
	}
	for _, tc := range tests {
		got, err := NewURLs(nil, tc.host, time.Hour).URL(context.Background(), "out", "job/a.jpg")
		if err != nil || got != tc.want {
			t.Errorf("URL with host %q = %q, %v; want %q", tc.host, got, err, tc.want)
		}
	}
}

func TestCheckURLExpiry(t *testing.T) {
	for d, ok := range map[time.Duration]bool{0: false, time.Hour: true, 7 * 24 * time.Hour: true, 8 * 24 * time.Hour: false} {
		if err := CheckURLExpiry(d); (err == nil) != ok {
			t.Errorf("CheckURLExpiry(%s) = %v, want ok=%v", d, err, ok)
		}
	}
}

func TestChunkSize(t *testing.T) {
	for n, want := range map[int]int{0: 256 << 10, 100 << 10: 256 << 10, 256 << 10: 512 << 10, 15 << 20: 15<<20 + 256<<10} {
		if got := chunkSize(n); got != want || got <= n {
			t.Errorf("chunkSize(%d) = %d, want %d", n, got, want)
		}
	}
}
