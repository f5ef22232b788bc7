package onnx

import (
	"context"
	"fmt"
	"image"
	"math"
	"sort"

	xdraw "golang.org/x/image/draw"

	"github.com/tigerstudio/studio/worker/generate"
)

// faceStep finds faces with a BlazeFace-style single-shot detector: the
// frame is letterboxed into the network's square input, every anchor's logit
// and box (centre offset, size, keypoints, in input pixels) are decoded,
// overlapping boxes are merged, and what scores MinScore or more becomes
// the frame's Faces, largest first. With Required (the default) a photo
// without a face ends the job with generate.ErrNoFace before any
// generation: this step is the face gate.
type faceStep struct {
	m      *Model
	spec   Spec
	params faceParams
}

type faceParams struct {
	Model    string  `json:"model"`
	MinScore float32 `json:"minScore"`
	Required *bool   `json:"required"`
	// Overlap is the IoU above which two detections are one face.
	Overlap float64 `json:"overlap"`
}

func newFaceStep(ctx context.Context, rt *Runtime, spec Spec, params map[string]any) (generate.Step, error) {
	p := faceParams{MinScore: 0.6, Overlap: 0.3}
	if err := generate.DecodeParams(params, &p); err != nil {
		return nil, err
	}
	if p.Required == nil {
		yes := true
		p.Required = &yes
	}
	if !(p.MinScore > 0 && p.MinScore < 1) || !(p.Overlap > 0 && p.Overlap < 1) {
		return nil, fmt.Errorf("minScore %v and overlap %v must be within (0,1)", p.MinScore, p.Overlap)
	}
	outputs := append(append([]string(nil), spec.Scores...), spec.Boxes...)
	return loadStep(ctx, rt, spec, outputs, func(m *Model) faceStep { return faceStep{m: m, spec: spec, params: p} })
}

// try runs the network once on a blank image of its size.
func (s faceStep) try(ctx context.Context) error {
	spec := s.spec
	h, w := spec.Size[0], spec.Size[1]
	if _, err := s.detect(ctx, make([]float32, 3*h*w)); err != nil {
		return fmt.Errorf("on a blank %dx%d image (want input %q and outputs %q, %q with the anchors %v): %w",
			w, h, spec.Input, spec.Scores, spec.Boxes, spec.Anchors, err)
	}
	return nil
}

// Detection is a face in the detector's input, in [0,1] of its side.
type detection struct {
	box   generate.Rect
	score float32
	kps   []generate.Point
}

// detect runs the network on a normalised NHWC/NCHW input of its size and
// decodes every anchor above MinScore, before merging.
func (s faceStep) detect(ctx context.Context, in []float32) ([]detection, error) {
	spec := s.spec
	h, w := spec.Size[0], spec.Size[1]
	per := 4 + 2*spec.Keypoints
	var outs []tensor
	for _, a := range spec.Anchors {
		n := a[0] * a[0] * a[1]
		outs = append(outs, tensor{[]int64{1, int64(n), 1}, make([]float32, n)})
	}
	for _, a := range spec.Anchors {
		n := a[0] * a[0] * a[1]
		outs = append(outs, tensor{[]int64{1, int64(n), int64(per)}, make([]float32, n*per)})
	}
	if err := s.m.runFloat(ctx, []tensor{{shape(spec.Layout, 3, h, w), in}}, outs); err != nil {
		return nil, err
	}
	var dets []detection
	for i, a := range spec.Anchors {
		dets = append(dets, decodeAnchors(outs[i].data, outs[len(spec.Anchors)+i].data, a[0], a[1], spec.Keypoints, float32(w), float32(h), s.params.MinScore)...)
	}
	return dets, nil
}

// decodeAnchors decodes one anchor scale: a grid of cells x cells with
// perCell anchors each, anchor centres at (cell+0.5)/cells, box values in
// input pixels relative to the anchor.
func decodeAnchors(scores, boxes []float32, cells, perCell, keypoints int, w, h, minScore float32) []detection {
	per := 4 + 2*keypoints
	var out []detection
	for cy := range cells {
		for cx := range cells {
			ax, ay := (float64(cx)+0.5)/float64(cells), (float64(cy)+0.5)/float64(cells)
			for k := range perCell {
				i := (cy*cells+cx)*perCell + k
				score := float32(1 / (1 + math.Exp(-float64(scores[i]))))
				if score < minScore {
					continue
				}
				b := boxes[i*per : (i+1)*per]
				x, y := ax+float64(b[0]/w), ay+float64(b[1]/h)
				bw, bh := float64(b[2]/w), float64(b[3]/h)
				d := detection{score: score, box: generate.Rect{X0: x - bw/2, Y0: y - bh/2, X1: x + bw/2, Y1: y + bh/2}}
				for p := range keypoints {
					d.kps = append(d.kps, generate.Point{X: ax + float64(b[4+2*p]/w), Y: ay + float64(b[5+2*p]/h)})
				}
				out = append(out, d)
			}
		}
	}
	return out
}

func iou(a, b generate.Rect) float64 {
	ix := math.Max(0, math.Min(a.X1, b.X1)-math.Max(a.X0, b.X0))
	iy := math.Max(0, math.Min(a.Y1, b.Y1)-math.Max(a.Y0, b.Y0))
	inter := ix * iy
	union := a.W()*a.H() + b.W()*b.H() - inter
	if union <= 0 {
		return 0
	}
	return inter / union
}

// merge is MediaPipe's weighted non-maximum suppression: detections that
// overlap the best remaining one by more than overlap are averaged into it,
// weighted by score, which steadies the box and keypoints.
func merge(dets []detection, overlap float64) []detection {
	sort.SliceStable(dets, func(i, j int) bool { return dets[i].score > dets[j].score })
	used := make([]bool, len(dets))
	var out []detection
	for i := range dets {
		if used[i] {
			continue
		}
		var sum float64
		var acc detection
		acc.kps = make([]generate.Point, len(dets[i].kps))
		for j := i; j < len(dets); j++ {
			if used[j] || iou(dets[i].box, dets[j].box) <= overlap {
				continue
			}
			used[j] = true
			wt := float64(dets[j].score)
			sum += wt
			acc.box.X0 += dets[j].box.X0 * wt
			acc.box.Y0 += dets[j].box.Y0 * wt
			acc.box.X1 += dets[j].box.X1 * wt
			acc.box.Y1 += dets[j].box.Y1 * wt
			for k, p := range dets[j].kps {
				acc.kps[k].X += p.X * wt
				acc.kps[k].Y += p.Y * wt
			}
		}
		acc.box = generate.Rect{X0: acc.box.X0 / sum, Y0: acc.box.Y0 / sum, X1: acc.box.X1 / sum, Y1: acc.box.Y1 / sum}
		for k := range acc.kps {
			acc.kps[k].X /= sum
			acc.kps[k].Y /= sum
		}
		acc.score = dets[i].score
		out = append(out, acc)
	}
	return out
}

func (s faceStep) Apply(ctx context.Context, f *generate.Frame) error {
	spec := s.spec
	w, h := f.Size()
	sh, sw := spec.Size[0], spec.Size[1]
	// Letterbox: the whole frame, aspect kept, centred on black.
	scale := math.Min(float64(sw)/float64(w), float64(sh)/float64(h))
	dw, dh := max(int(math.Round(float64(w)*scale)), 1), max(int(math.Round(float64(h)*scale)), 1)
	ox, oy := (sw-dw)/2, (sh-dh)/2
	box := image.NewNRGBA(image.Rect(0, 0, sw, sh))
	for i := 3; i < len(box.Pix); i += 4 {
		box.Pix[i] = 255
	}
	xdraw.CatmullRom.Scale(box, image.Rect(ox, oy, ox+dw, oy+dh), f.Image, f.Image.Rect, xdraw.Src, nil)
	in := toPlanar(box, spec)
	dets, err := s.detect(ctx, toLayout(spec.Layout, in.pix, 3, sh, sw))
	if err != nil {
		return fmt.Errorf("running the face detector: %w", err)
	}
	back := func(p generate.Point) generate.Point {
		return generate.Point{X: (p.X*float64(sw) - float64(ox)) / scale, Y: (p.Y*float64(sh) - float64(oy)) / scale}
	}
	faces := make([]generate.Face, 0, len(dets))
	for _, d := range merge(dets, s.params.Overlap) {
		a, b := back(generate.Point{X: d.box.X0, Y: d.box.Y0}), back(generate.Point{X: d.box.X1, Y: d.box.Y1})
		fc := generate.Face{Box: generate.Rect{X0: a.X, Y0: a.Y, X1: b.X, Y1: b.Y}, Score: d.score}
		for _, k := range d.kps {
			fc.Keypoints = append(fc.Keypoints, back(k))
		}
		faces = append(faces, fc)
	}
	generate.SortFaces(faces)
	f.Faces = faces
	if len(faces) == 0 && *s.params.Required {
		return fmt.Errorf("%w: no face scored %.2f or more", generate.ErrNoFace, s.params.MinScore)
	}
	return nil
}
