package main

import (
	"bytes"
	"context"
	"math"
	"strings"
	"testing"

	"github.com/tigerstudio/studio/infra/styles"
)

// TestGeneratedImages: at full load the generated share of the jobs costs
// the catalogue's price per image; idle costs nothing; the price comes
// from the catalogue and shows in the output.
func TestGeneratedImages(t *testing.T) {
	p := testPrices
	p.GeneratedImage = 0.04
	s := defaultSizes()
	s.MaxInstances, s.JobsPerGPUHour, s.GeneratedShare = 2, 100, 0.25
	line := func(e Estimate) float64 {
		for _, l := range e.Lines {
			if strings.HasPrefix(l.Item, "generated images") {
				return l.USD
			}
		}
		t.Fatalf("no generated images line in %+v", e.Lines)
		return 0
	}
	full, err := estimate(s, p, true)
	if err != nil {
		t.Fatal(err)
	}
	if got := line(full); math.Abs(got-200*0.25*0.04) > 1e-9 { // 200 jobs, a quarter generated
		t.Errorf("full load: generated images $%.4f, want $2.00", got)
	}
	idle, _ := estimate(s, p, false)
	if got := line(idle); got != 0 {
		t.Errorf("idle: generated images $%.4f, want 0", got)
	}
	s.GeneratedShare = 1.5
	if err := s.Validate(); err == nil {
		t.Error("a generated share of 1.5 passed")
	}

	cat, err := styles.Load("")
	if err != nil {
		t.Fatal(err)
	}
	if usd, asOf := generatedPrice(cat); usd != 0.039 || asOf == "" {
		t.Errorf("catalogue price %v as of %q, want 0.039, dated", usd, asOf)
	}
	var out bytes.Buffer
	if err := realMain(context.Background(), []string{"-generated-share", "1"}, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"generated images (Vertex AI, 100% of jobs, $0.039 each)", "14.0400", "$39.00 per 1,000 portraits"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
