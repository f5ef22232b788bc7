package onnx

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	xdraw "golang.org/x/image/draw"

	"github.com/tigerstudio/studio/infra/samples"
	"github.com/tigerstudio/studio/infra/testenv"
	"github.com/tigerstudio/studio/worker/generate"
)

// headshotFaceWidth is the headshot crop's face width in pixels (1024 x 0.33).
const headshotFaceWidth = 338

// upscaler builds the upscale step of the catalogue's ESRGAN model.
func upscaler(t testing.TB, params map[string]any) upscaleStep {
	t.Helper()
	if _, err := os.Stat(filepath.Join(repoRoot, "models", "esrgan-thick-x4.onnx")); err != nil {
		testenv.Require(t, fmt.Errorf("models not installed (models/install.sh): %w", err))
	}
	p := map[string]any{"model": "esrgan-thick-x4", "faceWidth": float64(headshotFaceWidth)}
	for k, v := range params {
		p[k] = v
	}
	return realStep(t, "upscale", p).(upscaleStep)
}

// sr runs the model over a whole planar image in tiles of tile with pad.
func (s upscaleStep) sr(ctx context.Context, src planar, tile, pad int) (planar, error) {
	return runTiledScaled(ctx, src, tile, pad, s.spec.Scale, func(ctx context.Context, in []float32, h, w int, out []float32) error {
		return s.runCrop(ctx, in, h, w, out)
	})
}

// astronautFrame is the astronaut with her hand-marked face as the frame's
// face, as detect-face would leave it.
func astronautFrame(t testing.TB) *generate.Frame {
	f := generate.NewFrame(decode(t, samples.Astronaut()))
	f.Faces = []generate.Face{{Box: astronautFace, Score: 1, Keypoints: []generate.Point{astronautRightEye, astronautLeftEye}}}
	return f
}

// Tiles with the catalogue's pad give what the model gives on the whole
// image (so tiling only bounds memory), and a pad below the model's
// receptive field would not: the check can fail.
func TestUpscaleTilesMatchWhole(t *testing.T) {
	s := upscaler(t, nil)
	img := decode(t, samples.Astronaut())
	src := toPlanar(generate.NewFrame(img.SubImage(image.Rect(180, 80, 228, 120))).Image, s.spec)
	whole, err := s.sr(t.Context(), src, 1000, 0)
	if err != nil {
		t.Fatal(err)
	}
	diff := func(pad int) float64 {
		tiled, err := s.sr(t.Context(), src, 24, pad)
		if err != nil {
			t.Fatal(err)
		}
		worst := 0.0
		for i := range whole.pix {
			worst = math.Max(worst, math.Abs(float64(tiled.pix[i]-whole.pix[i])))
		}
		return worst
	}
	if d := diff(s.spec.Pad); d > 0.05 {
		t.Errorf("24-px tiles with pad %d differ from the whole image by %.3g of 255", s.spec.Pad, d)
	}
	if d := diff(4); d < 1 {
		t.Errorf("tiles with pad 4 differ by only %.3g of 255: the check cannot tell a too-small pad", d)
	}
}

// The astronaut shrunk 4x and brought back by the model is closer to the
// original than bilinear or bicubic (Catmull-Rom) scaling is, in PSNR and
// SSIM; so is her head at the smaller enlargements the step also runs at
// (1.5x to 3x: the model's 4x area-shrunk). The figures go in the README.
func TestUpscaleBeatsBicubic(t *testing.T) {
	s := upscaler(t, nil)
	orig := generate.NewFrame(decode(t, samples.Astronaut())).Image
	const scale = 4
	w, h := orig.Rect.Dx(), orig.Rect.Dy()
	// Shrunk with a bicubic filter, as DIV2K's low-resolution images were.
	small := image.NewNRGBA(image.Rect(0, 0, w/scale, h/scale))
	xdraw.CatmullRom.Scale(small, small.Rect, orig, orig.Rect, xdraw.Src, nil)
	sr, err := s.sr(t.Context(), toPlanar(small, s.spec), s.spec.Tile, s.spec.Pad)
	if err != nil {
		t.Fatal(err)
	}
	results := map[string]*image.NRGBA{"model": toNRGBA(sr, s.spec)}
	for name, k := range map[string]xdraw.Interpolator{"bilinear": xdraw.BiLinear, "bicubic": xdraw.CatmullRom} {
		up := image.NewNRGBA(orig.Rect)
		k.Scale(up, up.Rect, small, small.Rect, xdraw.Src, nil)
		results[name] = up
	}
	// The whole photo, and the face (hairline to chin) where the headshot
	// needs the detail.
	face := image.Rect(176, 72, 272, 192)
	score := map[string][2]float64{}
	for _, name := range []string{"bilinear", "bicubic", "model"} {
		inner := orig.Rect.Inset(scale) // the border, where every method extrapolates, is left out
		p, ss := psnr(orig, results[name], inner), ssim(orig, results[name], inner)
		pf, sf := psnr(orig, results[name], face), ssim(orig, results[name], face)
		score[name] = [2]float64{p, ss}
		t.Logf("%-8s whole photo: PSNR %.2f dB, SSIM %.4f; face: PSNR %.2f dB, SSIM %.4f", name, p, ss, pf, sf)
	}
	for _, base := range []string{"bilinear", "bicubic"} {
		if m, b := score["model"], score[base]; !(m[0] > b[0] && m[1] > b[1]) {
			t.Errorf("model PSNR %.2f dB SSIM %.4f, %s %.2f dB %.4f: want the model better in both", m[0], m[1], base, b[0], b[1])
		}
	}

	// The step's own path at the enlargements the threshold admits: the
	// head (192 px) shrunk by f, the model's 4x area-shrunk to f.
	head := image.NewNRGBA(image.Rect(0, 0, 192, 192))
	xdraw.Copy(head, image.Point{}, orig, image.Rect(128, 32, 320, 224), xdraw.Src, nil)
	for _, f := range []float64{1.5, 2, 3} {
		n := int(192 / f)
		small := image.NewNRGBA(image.Rect(0, 0, n, n))
		xdraw.CatmullRom.Scale(small, small.Rect, head, head.Rect, xdraw.Src, nil)
		sr, err := s.sr(t.Context(), toPlanar(small, s.spec), s.spec.Tile, s.spec.Pad)
		if err != nil {
			t.Fatal(err)
		}
		sp := areaSpans(192, 0, float64(scale*n)/192, scale*n)
		got := map[string]*image.NRGBA{"model": toNRGBA(sr.area(sp, sp), s.spec)}
		for name, k := range map[string]xdraw.Interpolator{"bilinear": xdraw.BiLinear, "bicubic": xdraw.CatmullRom} {
			up := image.NewNRGBA(head.Rect)
			k.Scale(up, up.Rect, small, small.Rect, xdraw.Src, nil)
			got[name] = up
		}
		inner := head.Rect.Inset(4)
		m := [2]float64{psnr(head, got["model"], inner), ssim(head, got["model"], inner)}
		line := fmt.Sprintf("head enlarged %.1fx: model PSNR %.2f dB, SSIM %.4f", f, m[0], m[1])
		for _, base := range []string{"bilinear", "bicubic"} {
			b := [2]float64{psnr(head, got[base], inner), ssim(head, got[base], inner)}
			line += fmt.Sprintf("; %s %.2f dB, %.4f", base, b[0], b[1])
			if !(m[0] > b[0] && m[1] > b[1]) {
				t.Errorf("head enlarged %.1fx: model %.2f dB %.4f, %s %.2f dB %.4f: want the model better in both", f, m[0], m[1], base, b[0], b[1])
			}
		}
		t.Log(line)
	}
}

// psnr is the peak signal-to-noise ratio of b against a over r, in dB, on
// R, G and B.
func psnr(a, b *image.NRGBA, r image.Rectangle) float64 {
	var se float64
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			i, j := a.PixOffset(x, y), b.PixOffset(x, y)
			for c := range 3 {
				d := float64(a.Pix[i+c]) - float64(b.Pix[j+c])
				se += d * d
				n++
			}
		}
	}
	return 10 * math.Log10(255*255/(se/float64(n)))
}

// ssim is the mean structural similarity of b against a over r on luma
// (BT.601), with the usual 11x11 Gaussian window (sigma 1.5) and constants
// (Wang et al. 2004).
func ssim(a, b *image.NRGBA, r image.Rectangle) float64 {
	w, h := r.Dx(), r.Dy()
	luma := func(img *image.NRGBA) []float64 {
		out := make([]float64, w*h)
		for y := range h {
			for x := range w {
				i := img.PixOffset(r.Min.X+x, r.Min.Y+y)
				out[y*w+x] = 0.299*float64(img.Pix[i]) + 0.587*float64(img.Pix[i+1]) + 0.114*float64(img.Pix[i+2])
			}
		}
		return out
	}
	x, y := luma(a), luma(b)
	mul := func(p, q []float64) []float64 {
		out := make([]float64, len(p))
		for i := range p {
			out[i] = p[i] * q[i]
		}
		return out
	}
	const radius = 5
	var k [2*radius + 1]float64
	var sum float64
	for i := range k {
		d := float64(i - radius)
		k[i] = math.Exp(-d * d / (2 * 1.5 * 1.5))
		sum += k[i]
	}
	blur := func(p []float64) []float64 { // valid region only: (w-10) x (h-10)
		tmp := make([]float64, (w-2*radius)*h)
		for yy := range h {
			for xx := range w - 2*radius {
				var v float64
				for i, kv := range k {
					v += kv * p[yy*w+xx+i]
				}
				tmp[yy*(w-2*radius)+xx] = v / sum
			}
		}
		ow := w - 2*radius
		out := make([]float64, ow*(h-2*radius))
		for yy := range h - 2*radius {
			for xx := range ow {
				var v float64
				for i, kv := range k {
					v += kv * tmp[(yy+i)*ow+xx]
				}
				out[yy*ow+xx] = v / sum
			}
		}
		return out
	}
	mx, my := blur(x), blur(y)
	sxx, syy, sxy := blur(mul(x, x)), blur(mul(y, y)), blur(mul(x, y))
	c1, c2 := (0.01*255)*(0.01*255), (0.03*255)*(0.03*255)
	var total float64
	for i := range mx {
		vx, vy, cxy := sxx[i]-mx[i]*mx[i], syy[i]-my[i]*my[i], sxy[i]-mx[i]*my[i]
		total += (2*mx[i]*my[i] + c1) * (2*cxy + c2) / ((mx[i]*mx[i] + my[i]*my[i] + c1) * (vx + vy + c2))
	}
	return total / float64(len(mx))
}

// A face the crop would enlarge 3.8x: the frame becomes the face and its
// margin, 3.8 times larger, with the faces and the matte moved along; on
// the face the model's picture, in the same place as the photo's and
// sharper than a bilinear enlargement, elsewhere that enlargement.
func TestUpscaleStep(t *testing.T) {
	s := upscaler(t, nil)
	f := astronautFrame(t)
	w0, h0 := f.Size()
	f.Matte = make([]float32, w0*h0)
	for y := range h0 {
		for x := range w0 {
			if subject(float64(x)+0.5, float64(y)+0.5) {
				f.Matte[y*w0+x] = 1
			}
		}
	}
	ref := generate.NewFrame(f.Image)
	if err := s.Apply(t.Context(), f); err != nil {
		t.Fatal(err)
	}
	fw := astronautFace.W()
	m := 1.25 * fw
	region := image.Rect(int(math.Floor(astronautFace.X0-m)), 0, int(math.Ceil(astronautFace.X1+m)), int(math.Ceil(astronautFace.Y1+m)))
	enlarge := headshotFaceWidth / fw
	w, h := f.Size()
	if want := int(math.Round(float64(region.Dx()) * enlarge)); w != want {
		t.Errorf("width %d, want %d (the region %v times %.2f)", w, want, region, enlarge)
	}
	if want := int(math.Round(float64(region.Dy()) * enlarge)); h != want {
		t.Errorf("height %d, want %d", h, want)
	}
	if got := f.Faces[0].Box.W(); math.Abs(got-headshotFaceWidth) > 2 {
		t.Errorf("the face is %.1f px wide after the step, want %d (what the crop will draw)", got, headshotFaceWidth)
	}
	if len(f.Matte) != w*h {
		t.Fatalf("matte of %d values for %dx%d", len(f.Matte), w, h)
	}
	// The matte followed: inside the face is subject, the wall top right is not.
	sx, sy := w*3/4+w/8, 20
	if f.Matte[(h/3)*w+w/2] < 0.99 || f.Matte[sy*w+sx] > 0.01 {
		t.Errorf("matte at the face %.2f, at the wall %.2f: it did not follow the image", f.Matte[(h/3)*w+w/2], f.Matte[sy*w+sx])
	}
	// Same place, same colours: within a few levels of a bilinear enlargement.
	if err := ref.Transform(generate.Rect{X0: float64(region.Min.X), Y0: float64(region.Min.Y), X1: float64(region.Max.X), Y1: float64(region.Max.Y)}, w, h); err != nil {
		t.Fatal(err)
	}
	// The model draws the face and detail (0.3) face widths around it;
	// the rest is the bilinear enlargement, untouched.
	d := 0.3 * fw
	detail := image.Rect(int(math.Floor(astronautFace.X0-d)), int(math.Floor(astronautFace.Y0-d)), int(math.Ceil(astronautFace.X1+d)), int(math.Ceil(astronautFace.Y1+d)))
	drawn := image.Rect(
		int(math.Ceil(float64(detail.Min.X-region.Min.X)*enlarge)), int(math.Ceil(float64(detail.Min.Y-region.Min.Y)*enlarge)),
		int(math.Floor(float64(detail.Max.X-region.Min.X)*enlarge)), int(math.Floor(float64(detail.Max.Y-region.Min.Y)*enlarge)))
	var sum, outside float64
	for y := range h {
		for x := range w {
			i := f.Image.PixOffset(x, y)
			for c := range 3 {
				diff := math.Abs(float64(f.Image.Pix[i+c]) - float64(ref.Image.Pix[i+c]))
				if image.Pt(x, y).In(drawn) {
					sum += diff
				} else {
					outside = math.Max(outside, diff)
				}
			}
		}
	}
	mean := sum / float64(3*drawn.Dx()*drawn.Dy())
	t.Logf("model drew %v of the %dx%d frame; mean difference there from a bilinear enlargement %.2f levels", drawn, w, h, mean)
	if outside != 0 {
		t.Errorf("outside the face's region the picture differs from the bilinear enlargement by up to %.0f levels", outside)
	}
	// Same place, same colours, new detail: within a few levels of a
	// bilinear enlargement on average, but not equal to it.
	if mean > 6 || mean < 0.5 {
		t.Errorf("mean difference from a bilinear enlargement %.2f levels on the face: want the model's picture of the photo, in place (0.5 to 6)", mean)
	}
	if got, want := sharpness(f.Image, drawn.Inset(16)), sharpness(ref.Image, drawn.Inset(16)); got < 1.2*want {
		t.Errorf("gradient energy on the face %.1f, bilinear %.1f: want the model's at least 1.2 times sharper", got, want)
	}
}

// sharpness is the mean squared luma difference between neighbours in r.
func sharpness(img *image.NRGBA, r image.Rectangle) float64 {
	luma := func(x, y int) float64 {
		i := img.PixOffset(x, y)
		return 0.299*float64(img.Pix[i]) + 0.587*float64(img.Pix[i+1]) + 0.114*float64(img.Pix[i+2])
	}
	var sum float64
	for y := r.Min.Y; y < r.Max.Y-1; y++ {
		for x := r.Min.X; x < r.Max.X-1; x++ {
			dx, dy := luma(x+1, y)-luma(x, y), luma(x, y+1)-luma(x, y)
			sum += dx*dx + dy*dy
		}
	}
	return sum / float64((r.Dx()-1)*(r.Dy()-1))
}

// A face the crop enlarges little is left alone; a frame without a face
// is the face gate's error.
func TestUpscaleSkips(t *testing.T) {
	t.Run("large face", func(t *testing.T) {
		s := upscaler(t, map[string]any{"faceWidth": 120.0}) // 1.36x, under 1.5
		f := astronautFrame(t)
		img := f.Image
		if err := s.Apply(t.Context(), f); err != nil {
			t.Fatal(err)
		}
		if f.Image != img || f.Faces[0].Box != astronautFace {
			t.Error("the frame changed, want it left alone below the threshold")
		}
	})
	t.Run("no face", func(t *testing.T) {
		s := upscaler(t, nil)
		err := s.Apply(t.Context(), generate.NewFrame(decode(t, samples.Astronaut())))
		if !errors.Is(err, generate.ErrNoFace) {
			t.Fatalf("err = %v, want ErrNoFace", err)
		}
	})
}

// withFace gives a fresh frame the astronaut's face, as detect-face would.
type withFace struct{ generate.Step }

func (s withFace) Apply(ctx context.Context, f *generate.Frame) error {
	f.Faces = []generate.Face{{Box: astronautFace, Score: 1}}
	return s.Step.Apply(ctx, f)
}

// The upscale (seconds on CPU) stops between tiles and inside a Run when
// the job is cancelled.
func TestUpscaleCancelled(t *testing.T) {
	s := upscaler(t, map[string]any{"detail": 0.0}) // the face box only: the test runs it twice whole
	cancelMidway(t, withFace{s}, decode(t, samples.Astronaut()))
}

func TestUpscaleRefuses(t *testing.T) {
	sum := strings.Repeat("0", 64)
	for _, tc := range []struct {
		name   string
		params map[string]any
		want   string
	}{
		{"no scale", map[string]any{"kind": "upscale", "file": "m.onnx", "sha256": sum}, "scale 0"},
		{"a fixed size", map[string]any{"kind": "upscale", "file": "m.onnx", "sha256": sum, "scale": 4.0, "size": []any{64.0, 64.0}}, "any input size"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParseSpec(tc.params); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
	t.Run("step parameters", func(t *testing.T) {
		cat := func(string) (map[string]any, bool) {
			return map[string]any{"kind": "upscale", "file": "m.onnx", "sha256": sum, "scale": 4.0}, true
		}
		_, _, err := NewStep(t.Context(), &Runtime{}, "upscale", map[string]any{"model": "m", "faceWidth": 4.0, "margin": 0.0, "above": 0.5}, cat)
		for _, want := range []string{"faceWidth 4", "above 0.5", "margin 0"} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("err = %v, want one naming %q", err, want)
			}
		}
	})
}

// Area resampling averages exactly what each output pixel covers.
func TestAreaSpans(t *testing.T) {
	p := planar{w: 4, h: 2, c: 1, pix: []float32{0, 4, 8, 12, 2, 6, 10, 14}}
	got := p.area(areaSpans(2, 0, 2, 4), areaSpans(1, 0, 2, 2))
	if want := []float32{3, 11}; got.pix[0] != want[0] || got.pix[1] != want[1] {
		t.Errorf("4x2 -> 2x1: %v, want %v", got.pix, want)
	}
	got = p.area(areaSpans(3, 0, 4.0/3, 4), areaSpans(2, 0, 1, 2)) // thirds: 4/3 source pixels each
	if want := float32((0*1 + 4*(1.0/3)) / (4.0 / 3)); math.Abs(float64(got.pix[0]-want)) > 1e-5 {
		t.Errorf("first of 3: %v, want %v", got.pix[0], want)
	}
	got = p.area(areaSpans(2, 1.5, 1, 4), areaSpans(1, 0, 1, 2)) // shifted by half a pixel
	if want := []float32{6, 10}; got.pix[0] != want[0] || got.pix[1] != want[1] {
		t.Errorf("half-pixel shift: %v, want %v", got.pix, want)
	}
	flat := planar{w: 7, h: 5, c: 3, pix: make([]float32, 105)}
	for i := range flat.pix {
		flat.pix[i] = 0.5
	}
	for _, v := range flat.area(areaSpans(3, 0, 7.0/3, 7), areaSpans(2, 0.5, 2.2, 5)).pix {
		if math.Abs(float64(v-0.5)) > 1e-6 {
			t.Fatalf("a flat image resampled to %v, want 0.5 everywhere", v)
		}
	}
}

// BenchmarkUpscale is the step's cost on the astronaut at 512 px (face 88
// px: 3.8x, the model on 142x161 px) and at 1024 px (face 176 px: 1.9x,
// the model on 283x321 px in 4 tiles), on CPU.
func BenchmarkUpscale(b *testing.B) {
	s := upscaler(b, nil)
	for _, side := range []int{512, 1024} {
		b.Run(fmt.Sprintf("%dpx", side), func(b *testing.B) {
			base := astronautFrame(b)
			if side != 512 {
				if err := base.Transform(generate.Rect{X1: 512, Y1: 512}, side, side); err != nil {
					b.Fatal(err)
				}
			}
			for b.Loop() {
				f := &generate.Frame{Image: base.Image, Faces: append([]generate.Face(nil), base.Faces...)}
				if err := s.Apply(b.Context(), f); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/op")
		})
	}
}
