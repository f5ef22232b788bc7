package gateway_test

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/tigerstudio/studio/functions/gateway"
	"github.com/tigerstudio/studio/infra/testenv"
)

// benchPhoto returns a w x h JPEG that compresses like a photo: smooth
// gradients with sensor-like noise.
func benchPhoto(b *testing.B, w, h, noise int) []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			i := img.PixOffset(x, y)
			n := rng.IntN(2*noise+1) - noise
			img.Pix[i+0] = uint8(min(255, max(0, x*255/w+n)))
			img.Pix[i+1] = uint8(min(255, max(0, y*255/h+n)))
			img.Pix[i+2] = uint8(min(255, max(0, (x+y)*127/(w+h)+64+n)))
			img.Pix[i+3] = 255
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85}); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// multipartBody builds a POST /v1/jobs body once, so the load generator
// spends as little as possible per request.
func multipartBody(photo []byte, style string) (body []byte, contentType string) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("style", style)
	pw, _ := mw.CreateFormFile("photo", "photo.jpg")
	_, _ = pw.Write(photo)
	mw.Close()
	return buf.Bytes(), mw.FormDataContentType()
}

// post submits one prepared body and wants 202.
func post(url, token string, body []byte, contentType string) error {
	req, err := http.NewRequest(http.MethodPost, url+"/v1/jobs", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	reply, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("status %d: %s", resp.StatusCode, reply)
	}
	return nil
}

// usage is the process's CPU time and allocated bytes so far.
type usage struct {
	cpu   time.Duration
	alloc uint64
}

func readUsage(b *testing.B) usage {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return usage{cpu: time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), alloc: ms.TotalAlloc}
}

// perJob runs n submissions from clients goroutines and returns the CPU time
// and bytes allocated per submission.
func perJob(b *testing.B, clients, n int, submit func(i int) error) (cpu time.Duration, alloc uint64) {
	runtime.GC()
	before := readUsage(b)
	testenv.Load(b, clients, n, submit)
	after := readUsage(b)
	return (after.cpu - before.cpu) / time.Duration(n), (after.alloc - before.alloc) / uint64(n)
}

// BenchmarkGatewayCost measures what one accepted job costs the Gateway in
// CPU time and allocation (getrusage and the runtime's counters, not wall
// time), for a 2-MP and a 12-MP photo, 16 clients, on the local stack:
// token check, rate-limit query, validation, the Storage write, the request
// document, the confirmed publish and the enqueued mark. The Gateway runs in
// this process, so the load generator's own cost (its HTTP client, measured
// against a handler that only reads the body) is reported apart and
// subtracted: gateway-cpu-ms/job is the Gateway's share.
func BenchmarkGatewayCost(b *testing.B) {
	const clients = 16
	f := newFixture(b, func(c *gateway.Config) {
		c.MaxBytes, c.MaxPixels = 16<<20, 25_000_000
		c.PerMinute = 1 << 30 // checked on every job, never reached
		c.LogLevel = "info"   // as deployed
		c.MaxUploads = clients
	})
	users := make([]testenv.User, clients)
	for i := range users {
		users[i] = f.stack.NewUser(b, testenv.UserOpts{})
	}
	// The load generator alone: the same requests to a handler that reads
	// the body and answers 202.
	sink := newSink(b)
	// A phone's 12-MP photo is 2-5 MB; the app sends about 2 MP. The same
	// pixels with less noise make a smaller file: what a job costs should
	// follow the bytes, not the pixels.
	for _, size := range []struct {
		name        string
		w, h, noise int
	}{
		{"2MP-smooth", 1600, 1200, 1},
		{"2MP-noisy", 1600, 1200, 12},
		{"12MP-smooth", 4000, 3000, 1},
		{"12MP-noisy", 4000, 3000, 12},
	} {
		photo := benchPhoto(b, size.w, size.h, size.noise)
		body, ct := multipartBody(photo, "sketch")
		b.Run(size.name, func(b *testing.B) {
			b.Logf("photo %dx%d, %d KB", size.w, size.h, len(photo)>>10)
			n := max(b.N, 2*clients)
			clientCPU, clientAlloc := perJob(b, clients, n, func(i int) error {
				return post(sink, users[i%clients].Token, body, ct)
			})
			b.ResetTimer()
			cpu, alloc := perJob(b, clients, n, func(i int) error {
				return post(f.url, users[i%clients].Token, body, ct)
			})
			b.StopTimer()
			ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
			b.ReportMetric(ms(cpu), "cpu-ms/job")
			b.ReportMetric(ms(clientCPU), "client-cpu-ms/job")
			b.ReportMetric(ms(cpu-clientCPU), "gateway-cpu-ms/job")
			b.ReportMetric(float64(alloc)/(1<<10), "alloc-KB/job")
			b.ReportMetric(float64(int64(alloc)-int64(clientAlloc))/(1<<10), "gateway-alloc-KB/job")
		})
	}
}

// newSink serves POST /v1/jobs by reading the body and answering 202.
func newSink(b *testing.B) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte(`{"job":{}}`))
	}))
	b.Cleanup(srv.Close)
	return srv.URL
}

// BenchmarkCreateJob measures POST /v1/jobs of a 1 MB JPEG end to end on the
// local stack, at 1 and 16 concurrent clients: accepted jobs per second and
// the p50/p99 latency.
func BenchmarkCreateJob(b *testing.B) {
	// One account's 16 clients: UPLOADS_PER_USER would refuse most.
	f := newFixture(b, func(c *gateway.Config) { c.MaxBytes, c.PerMinute, c.UploadsPerUser, c.LogLevel = 4<<20, 0, 16, "info" })
	user := f.stack.NewUser(b, testenv.UserOpts{})
	photo := benchPhoto(b, 900, 700, 128)
	body, ct := multipartBody(photo, "sketch")
	b.Logf("photo: %d bytes", len(photo))
	for _, clients := range []int{1, 16} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			b.SetBytes(int64(len(photo)))
			start := time.Now()
			latencies := testenv.Load(b, clients, b.N, func(int) error { return post(f.url, user.Token, body, ct) })
			elapsed := time.Since(start)
			if len(latencies) == 0 {
				return
			}
			slices.Sort(latencies)
			pct := func(p float64) float64 {
				return float64(latencies[int(p*float64(len(latencies)-1))].Microseconds()) / 1000
			}
			b.ReportMetric(float64(len(latencies))/elapsed.Seconds(), "jobs/s")
			b.ReportMetric(pct(0.50), "p50-ms")
			b.ReportMetric(pct(0.99), "p99-ms")
		})
	}
}
