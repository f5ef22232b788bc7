package generate

import (
	"image"
	"image/color"
	"testing"
)

func TestTransform(t *testing.T) {
	in := image.NewNRGBA(image.Rect(0, 0, 40, 30))
	for y := range 30 {
		for x := range 40 {
			in.SetNRGBA(x, y, color.NRGBA{uint8(6 * x), uint8(8 * y), uint8(x * y % 256), 255})
		}
	}
	t.Run("identity keeps every pixel", func(t *testing.T) {
		f := NewFrame(in)
		if err := f.Transform(Rect{X1: 40, Y1: 30}, 40, 30); err != nil {
			t.Fatal(err)
		}
		if string(f.Image.Pix) != string(in.Pix) {
			t.Error("an identity transform changed the image")
		}
	})
	t.Run("shift and scale move faces, matte and pixels together", func(t *testing.T) {
		f := NewFrame(in)
		f.Matte = make([]float32, 40*30)
		f.Matte[10*40+20] = 1
		f.Faces = []Face{{Box: Rect{X0: 20, Y0: 10, X1: 30, Y1: 20}, Keypoints: []Point{{X: 22, Y: 12}}}}
		// The window (10,5)-(50,35) at twice the size: reaches past the right edge.
		if err := f.Transform(Rect{X0: 10, Y0: 5, X1: 50, Y1: 35}, 80, 60); err != nil {
			t.Fatal(err)
		}
		if got, want := f.Faces[0].Box, (Rect{X0: 20, Y0: 10, X1: 40, Y1: 30}); got != want {
			t.Errorf("face box %+v, want %+v", got, want)
		}
		if got := f.Faces[0].Keypoints[0]; got != (Point{X: 24, Y: 14}) {
			t.Errorf("keypoint %+v, want {24 14}", got)
		}
		// Source pixel (20,10) now covers (20..21, 10..11).
		if a := f.Matte[10*80+20]; a < 0.2 {
			t.Errorf("matte at the moved pixel %.2f, want it carried along", a)
		}
		if a := f.Matte[10*80+79]; a != 0 {
			t.Errorf("matte beyond the photo %.2f, want 0", a)
		}
		// Beyond the right edge the picture repeats its last column.
		if got, want := f.Image.NRGBAAt(79, 20).R, in.NRGBAAt(39, 15).R; got != want {
			t.Errorf("pixel past the edge R=%d, want the edge's %d", got, want)
		}
	})
	t.Run("refuses nonsense", func(t *testing.T) {
		for _, tc := range []struct {
			r    Rect
			w, h int
		}{{Rect{X1: 0, Y1: 10}, 10, 10}, {Rect{X1: 10, Y1: 10}, 0, 10}, {Rect{X1: 10, Y1: 10}, 1 << 14, 1 << 14}} {
			if err := NewFrame(in).Transform(tc.r, tc.w, tc.h); err == nil {
				t.Errorf("Transform(%+v, %d, %d) succeeded", tc.r, tc.w, tc.h)
			}
		}
	})
}
