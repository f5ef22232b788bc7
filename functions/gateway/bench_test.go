package gateway_test

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tigerstudio/studio/functions/gateway"
	"github.com/tigerstudio/studio/infra/testenv"
)

// oneMegabyteJPEG returns a noisy photo that encodes to about 1 MB.
func oneMegabyteJPEG(b *testing.B) []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	img := image.NewRGBA(image.Rect(0, 0, 900, 700))
	for i := range img.Pix {
		img.Pix[i] = uint8(rng.IntN(256))
	}
	for x := range 900 {
		img.Set(x, 0, color.Black)
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85}); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkCreateJob measures POST /v1/jobs of a 1 MB JPEG end to end on the
// local stack (token check, validation, Storage, Firestore, confirmed
// publish), at 1 and 16 concurrent clients. It reports accepted jobs per
// second and the p50/p99 latency.
func BenchmarkCreateJob(b *testing.B) {
	f := newFixture(b, func(c *gateway.Config) { c.MaxBytes = 4 << 20 })
	user := f.stack.NewUser(b, testenv.UserOpts{})
	photo := oneMegabyteJPEG(b)
	b.Logf("photo: %d bytes", len(photo))
	for _, clients := range []int{1, 16} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			fm := form{photo: photo, declared: "image/jpeg", fields: map[string]string{"style": "sketch"}}
			var (
				mu        sync.Mutex
				latencies []time.Duration
				wg        sync.WaitGroup
			)
			next := make(chan struct{})
			b.SetBytes(int64(len(photo)))
			b.ResetTimer()
			start := time.Now()
			for range clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range next {
						t0 := time.Now()
						r := f.submit(b, user.Token, fm, nil)
						d := time.Since(t0)
						if r.status != 202 {
							b.Errorf("status %d %v", r.status, r.body)
							return
						}
						mu.Lock()
						latencies = append(latencies, d)
						mu.Unlock()
					}
				}()
			}
			for range b.N {
				next <- struct{}{}
			}
			close(next)
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			slices.Sort(latencies)
			if len(latencies) == 0 {
				return
			}
			pct := func(p float64) float64 {
				return float64(latencies[int(p*float64(len(latencies)-1))].Microseconds()) / 1000
			}
			b.ReportMetric(float64(len(latencies))/elapsed.Seconds(), "jobs/s")
			b.ReportMetric(pct(0.50), "p50-ms")
			b.ReportMetric(pct(0.99), "p99-ms")
		})
	}
}
