package generate

import (
	"context"
	"fmt"
	"image"
	"image/draw"
	"math"
	"sort"

	"github.com/tigerstudio/studio/worker/internal/par"
)

// Frame is one job's working state, shared by the steps of its pipeline:
// one decoded image, and once the steps that make them ran, the faces in it
// and the person's matte, always in the image's current geometry.
type Frame struct {
	// Image is the current picture, opaque, origin (0,0).
	Image *image.NRGBA
	// Faces are the detections, largest first (nil before detect-face).
	Faces []Face
	// Matte is the person's alpha in [0,1], one value per pixel of Image
	// in row order (nil before matte).
	Matte []float32
	// Pool shares the steps' pixel work out over the cores (nil: all on
	// the calling goroutine); the job's, from its context (par.With).
	Pool *par.Pool
}

// NewFrame copies in into a frame.
func NewFrame(in image.Image) *Frame { return newFrame(nil, in) }

func newFrame(pool *par.Pool, in image.Image) *Frame {
	b := in.Bounds()
	img := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	_ = pool.Bands(context.Background(), b.Dy(), rowGrain, func(y0, y1 int) {
		draw.Draw(img, image.Rect(0, y0, b.Dx(), y1), in, b.Min.Add(image.Pt(0, y0)), draw.Src)
		for i := y0*img.Stride + 3; i < y1*img.Stride; i += 4 {
			img.Pix[i] = 255 // the studio's outputs are opaque
		}
	})
	return &Frame{Image: img, Pool: pool}
}

// rowGrain is the fewest rows of a band of pixel work (par.Pool.Bands).
const rowGrain = 16

// Size is the image's width and height.
func (f *Frame) Size() (w, h int) { return f.Image.Rect.Dx(), f.Image.Rect.Dy() }

// Point is a position in image pixels.
type Point struct{ X, Y float64 }

// Rect is a rectangle in image pixels; it may reach outside the image.
type Rect struct{ X0, Y0, X1, Y1 float64 }

// W and H are the rectangle's sides.
func (r Rect) W() float64 { return r.X1 - r.X0 }
func (r Rect) H() float64 { return r.Y1 - r.Y0 }

// Face is one detection in image pixels.
type Face struct {
	Box   Rect
	Score float32
	// Keypoints, in BlazeFace's order: right eye, left eye, nose tip,
	// mouth, right ear, left ear (the person's right).
	Keypoints []Point
}

// Keypoint indexes.
const (
	RightEye = iota
	LeftEye
	Nose
	Mouth
)

// EyeCentre is the midpoint of the eyes, or a point at the box's upper
// third without keypoints.
func (fc Face) EyeCentre() Point {
	if len(fc.Keypoints) > LeftEye {
		r, l := fc.Keypoints[RightEye], fc.Keypoints[LeftEye]
		return Point{(r.X + l.X) / 2, (r.Y + l.Y) / 2}
	}
	return Point{(fc.Box.X0 + fc.Box.X1) / 2, fc.Box.Y0 + fc.Box.H()*0.4}
}

// SortFaces orders faces largest first.
func SortFaces(faces []Face) {
	sort.SliceStable(faces, func(i, j int) bool {
		return faces[i].Box.W()*faces[i].Box.H() > faces[j].Box.W()*faces[j].Box.H()
	})
}

// maxFramePixels bounds what a step may ask Transform for (a 8192x8192
// image), so a catalogue mistake cannot exhaust memory.
const maxFramePixels = 1 << 26

// Transform crops and scales the frame: the source rectangle r (which may
// reach outside the image) becomes an image of w x h. Outside the old image
// the picture repeats its edge and the matte is 0 (the backdrop fills it);
// faces and matte follow the image.
func (f *Frame) Transform(r Rect, w, h int) error {
	if w < 1 || h < 1 || w*h > maxFramePixels || !(r.W() > 0) || !(r.H() > 0) {
		return fmt.Errorf("%w: cannot map %+v to %dx%d", ErrInvalidInput, r, w, h)
	}
	ow, oh := f.Size()
	sx, sy := r.W()/float64(w), r.H()/float64(h)
	xs, ys := taps(w, ow, r.X0, sx), taps(h, oh, r.Y0, sy)
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	pix, stride := f.Image.Pix, f.Image.Stride
	_ = f.Pool.Bands(context.Background(), h, rowGrain, func(y0, y1 int) {
		for y := y0; y < y1; y++ {
			ty := ys[y]
			row0, row1 := pix[ty.i0*stride:], pix[ty.i1*stride:]
			out := img.Pix[y*img.Stride:]
			for x, tx := range xs {
				a0, a1 := 4*tx.i0, 4*tx.i1
				for c := range 3 {
					top := float32(row0[a0+c]) + (float32(row0[a1+c])-float32(row0[a0+c]))*tx.a
					bot := float32(row1[a0+c]) + (float32(row1[a1+c])-float32(row1[a0+c]))*tx.a
					out[4*x+c] = uint8(min(max(top+(bot-top)*ty.a+0.5, 0), 255))
				}
				out[4*x+3] = 255
			}
		}
	})
	if f.Matte != nil {
		// Outside the photo is background.
		f.Matte = samplePlane(f.Pool, f.Matte, ow, xs, ys, true)
	}
	move := func(p Point) Point { return Point{(p.X - r.X0) / sx, (p.Y - r.Y0) / sy} }
	for i := range f.Faces {
		fc := &f.Faces[i]
		a, b := move(Point{fc.Box.X0, fc.Box.Y0}), move(Point{fc.Box.X1, fc.Box.Y1})
		fc.Box = Rect{a.X, a.Y, b.X, b.Y}
		for k := range fc.Keypoints {
			fc.Keypoints[k] = move(fc.Keypoints[k])
		}
	}
	f.Image = img
	return nil
}

// ResizePlane scales a w x h plane of floats to dw x dh, bilinearly.
func ResizePlane(src []float32, w, h, dw, dh int) []float32 {
	return ResizePlaneOn(nil, src, w, h, dw, dh)
}

// ResizePlaneOn is ResizePlane with its rows shared out over pool.
func ResizePlaneOn(pool *par.Pool, src []float32, w, h, dw, dh int) []float32 {
	return samplePlane(pool, src, w, taps(dw, w, 0, float64(w)/float64(dw)), taps(dh, h, 0, float64(h)/float64(dh)), false)
}

// tap is where one output column (or row) samples its source: two
// neighbouring source indexes, clamped to the edge, and the weight of the
// second. Computed once per column and row, so the per-pixel work is a
// plain bilinear blend.
type tap struct {
	i0, i1  int
	a       float32
	outside bool // the position lies beyond the source's edge
}

// taps maps n output positions onto a source of size pixels, output pixel
// centre i+0.5 landing on origin + (i+0.5)*step.
func taps(n, size int, origin, step float64) []tap {
	ts := make([]tap, n)
	for i := range n {
		v := origin + (float64(i)+0.5)*step - 0.5
		c := math.Min(math.Max(v, 0), float64(size-1))
		i0 := int(c)
		ts[i] = tap{i0, min(i0+1, size-1), float32(c - float64(i0)), v < -0.5 || v > float64(size)-0.5}
	}
	return ts
}

// samplePlane samples a plane of floats, w wide, at xs x ys; with
// zeroOutside, positions beyond the source's edge are 0 instead of the edge.
func samplePlane(pool *par.Pool, src []float32, w int, xs, ys []tap, zeroOutside bool) []float32 {
	dst := make([]float32, len(xs)*len(ys))
	_ = pool.Bands(context.Background(), len(ys), rowGrain, func(y0, y1 int) {
		for y := y0; y < y1; y++ {
			ty := ys[y]
			if zeroOutside && ty.outside {
				continue
			}
			row0, row1 := src[ty.i0*w:], src[ty.i1*w:]
			out := dst[y*len(xs):]
			for x, tx := range xs {
				if zeroOutside && tx.outside {
					continue
				}
				top := row0[tx.i0] + (row0[tx.i1]-row0[tx.i0])*tx.a
				bot := row1[tx.i0] + (row1[tx.i1]-row1[tx.i0])*tx.a
				out[x] = top + (bot-top)*ty.a
			}
		}
	})
	return dst
}
