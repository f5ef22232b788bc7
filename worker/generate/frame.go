package generate

import (
	"fmt"
	"image"
	"image/draw"
	"math"
	"sort"
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
}

// NewFrame copies in into a frame.
func NewFrame(in image.Image) *Frame {
	b := in.Bounds()
	img := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(img, img.Bounds(), in, b.Min, draw.Src)
	for i := 3; i < len(img.Pix); i += 4 {
		img.Pix[i] = 255 // the studio's outputs are opaque
	}
	return &Frame{Image: img}
}

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
	src := func(x, y int) (float64, float64) {
		// Pixel centres: output (x+.5) maps to input r.X0 + (x+.5)*sx.
		return r.X0 + (float64(x)+0.5)*sx - 0.5, r.Y0 + (float64(y)+0.5)*sy - 0.5
	}
	// Sample positions per column and row, computed once: the inner loop
	// is a plain bilinear blend of four pixels.
	type tap struct {
		i0, i1 int     // clamped source indexes
		a      float32 // weight of i1
	}
	taps := func(n, size int, origin, step float64) []tap {
		ts := make([]tap, n)
		for i := range n {
			v := math.Min(math.Max(origin+(float64(i)+0.5)*step-0.5, 0), float64(size-1))
			i0 := int(v)
			ts[i] = tap{i0, min(i0+1, size-1), float32(v - float64(i0))}
		}
		return ts
	}
	xs, ys := taps(w, ow, r.X0, sx), taps(h, oh, r.Y0, sy)
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	pix, stride := f.Image.Pix, f.Image.Stride
	for y, ty := range ys {
		row0, row1 := pix[ty.i0*stride:], pix[ty.i1*stride:]
		out := img.Pix[y*img.Stride:]
		for x, tx := range xs {
			a0, a1 := 4*tx.i0, 4*tx.i1
			for c := range 3 {
				top := float32(row0[a0+c]) + (float32(row0[a1+c])-float32(row0[a0+c]))*tx.a
				bot := float32(row1[a0+c]) + (float32(row1[a1+c])-float32(row1[a0+c]))*tx.a
				out[4*x+c] = uint8(clamp255(top + (bot-top)*ty.a))
			}
			out[4*x+3] = 255
		}
	}
	if f.Matte != nil {
		m := make([]float32, w*h)
		for y := range h {
			for x := range w {
				fx, fy := src(x, y)
				if fx < -0.5 || fy < -0.5 || fx > float64(ow)-0.5 || fy > float64(oh)-0.5 {
					continue // outside the photo: background
				}
				m[y*w+x] = bilinear(ow, oh, fx, fy, func(i int) float32 { return f.Matte[i] })
			}
		}
		f.Matte = m
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
	dst := make([]float32, dw*dh)
	sx, sy := float64(w)/float64(dw), float64(h)/float64(dh)
	for y := range dh {
		fy := (float64(y)+0.5)*sy - 0.5
		for x := range dw {
			fx := (float64(x)+0.5)*sx - 0.5
			dst[y*dw+x] = bilinear(w, h, fx, fy, func(i int) float32 { return src[i] })
		}
	}
	return dst
}

// bilinear samples a w x h grid at (fx, fy), clamping to the edge.
func bilinear(w, h int, fx, fy float64, at func(i int) float32) float32 {
	fx = math.Min(math.Max(fx, 0), float64(w-1))
	fy = math.Min(math.Max(fy, 0), float64(h-1))
	x0, y0 := int(fx), int(fy)
	x1, y1 := min(x0+1, w-1), min(y0+1, h-1)
	ax, ay := float32(fx-float64(x0)), float32(fy-float64(y0))
	top := at(y0*w+x0)*(1-ax) + at(y0*w+x1)*ax
	bot := at(y1*w+x0)*(1-ax) + at(y1*w+x1)*ax
	return top*(1-ay) + bot*ay
}

func clamp255(v float32) float32 { return min(max(v+0.5, 0), 255) }
