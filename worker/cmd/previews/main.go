// Command previews renders every style of the built-in catalogue on the
// bundled astronaut portrait with the real models and writes a thumbnail of
// each to infra/styles/previews/<style>.jpg: the example outputs the Gateway
// lists and the README shows. Run from the repository root after make setup:
//
//	go run ./worker/cmd/previews
//
// The generated styles are drawn by a hosted model, which this machine
// cannot reach: without Vertex AI settings their committed previews are
// kept. With -vertex-project (Application Default Credentials for a project
// with Vertex AI enabled) they are drawn there, the real thing; with
// -vertex-standin the local stand-in draws them (its output shows the
// stand-in's transformation, not a model's drawing: not for committing).
// -placeholders writes only the generated styles' labelled placeholders
// (the astronaut through local filters, marked on the image as not the
// model's drawing), which is what is committed while no real ones are.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	xdraw "golang.org/x/image/draw"
	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/tigerstudio/studio/infra/entry"
	"github.com/tigerstudio/studio/infra/logging"
	"github.com/tigerstudio/studio/infra/samples"
	"github.com/tigerstudio/studio/infra/styles"
	"github.com/tigerstudio/studio/worker/generate"
	"github.com/tigerstudio/studio/worker/generate/onnx"
	"github.com/tigerstudio/studio/worker/generate/pipeline"
	"github.com/tigerstudio/studio/worker/generate/vertex"
	"github.com/tigerstudio/studio/worker/imaging"
)

func main() {
	entry.Main(realMain, func(err error) {
		logging.New(os.Stderr, slog.LevelInfo).Error("previews failed", "err", err)
	})
}

func realMain(ctx context.Context) error {
	out := flag.String("out", "infra/styles/previews", "folder for the thumbnails")
	side := flag.Int("side", 320, "longer side of a thumbnail in pixels")
	models := flag.String("models", "models", "model folder (models/install.sh)")
	project := flag.String("vertex-project", os.Getenv("VERTEX_PROJECT"), "draw the generated styles on Vertex AI in this project (Application Default Credentials); empty: keep their previews")
	location := flag.String("vertex-location", envOr("VERTEX_LOCATION", "global"), "Vertex AI location")
	model := flag.String("vertex-model", envOr("VERTEX_MODEL", "gemini-2.5-flash-image"), "default hosted model (a style may name its own)")
	standIn := flag.String("vertex-standin", os.Getenv("VERTEX_STANDIN_URL"), "the local stand-in's URL instead of Vertex AI (its output is the stand-in's transformation: not for committing)")
	placeholders := flag.Bool("placeholders", false, "write only the generated styles' labelled placeholders (local filters, not the model's drawing)")
	flag.Parse()

	cat, err := styles.Load("")
	if err != nil {
		return err
	}
	lib, err := onnx.FindLibrary(".")
	if err != nil {
		return err
	}
	rt, err := onnx.NewRuntime(onnx.Config{LibraryPath: lib, ModelDir: *models})
	if err != nil {
		return err
	}
	defer func() { _ = rt.Close() }()
	in, err := imaging.Decode(samples.Astronaut())
	if err != nil {
		return err
	}
	if *placeholders {
		return renderPlaceholders(ctx, cat, rt, in, *out, *side)
	}

	deps := pipeline.Deps{Runtime: rt}
	switch {
	case *project != "" || *standIn != "":
		if deps.Vertex, err = vertex.NewClient(ctx, vertex.Config{Project: *project, Location: *location, Model: *model,
			StandInURL: *standIn, MaxInFlight: 2, Timeout: 2 * time.Minute}); err != nil {
			return err
		}
	default:
		if cat, err = cat.WithoutGenerated(); err != nil {
			return err
		}
		fmt.Println("generated styles: previews kept (no -vertex-project; -placeholders writes their placeholders)")
	}
	ps, err := pipeline.BuildWith(ctx, cat, deps)
	if err != nil {
		return err
	}
	return render(ctx, cat, ps, in, *out, *side, nil)
}

// render writes a thumbnail of each style's output; mark, when set, draws
// on the thumbnail before it is encoded.
func render(ctx context.Context, cat *styles.Catalogue, ps generate.Pipelines, in image.Image, out string, side int, mark func(*image.RGBA)) error {
	var errs []error
	for _, st := range cat.All() {
		if st.Preview == "" {
			continue
		}
		res, err := ps.Generate(ctx, st, in)
		if err != nil {
			errs = append(errs, fmt.Errorf("style %s: %w", st.ID, err))
			continue
		}
		img := res.Images[0]
		w, h := imaging.FitSize(img.Bounds().Dx(), img.Bounds().Dy(), side)
		thumb := image.NewRGBA(image.Rect(0, 0, w, h))
		xdraw.CatmullRom.Scale(thumb, thumb.Bounds(), img, img.Bounds(), xdraw.Src, nil)
		if mark != nil {
			mark(thumb)
		}
		data, err := imaging.EncodeJPEG(thumb, 85)
		if err != nil {
			return err
		}
		path := filepath.Join(out, st.Preview)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return err
		}
		fmt.Printf("%s: %dx%d -> %s (%d bytes)\n", st.ID, img.Bounds().Dx(), img.Bounds().Dy(), path, len(data))
	}
	return errors.Join(errs...)
}

// placeholderHead frames the face as the generated styles do, with the
// matte for the backdrops below.
const placeholderHead = `{"step":"detect-face","model":"blazeface","minScore":0.6},{"step":"matte","model":"isnet-small"},{"step":"crop","aspect":"4:5","size":1024,"eyeLine":0.36,"faceWidth":0.24}`

// placeholderLooks hint at each generated style with local filters; a
// generated style not named here gets a plain grade.
var placeholderLooks = map[string]string{
	"anime":    `{"step":"watercolour","levels":5,"smooth":4,"edge":0.9},{"step":"backdrop","kind":"gradient","colour":"#fde2ef","to":"#cfe3ff"},{"step":"grade","contrast":1.1}`,
	"oil":      `{"step":"watercolour","levels":14,"smooth":5,"edge":0.15},{"step":"backdrop","kind":"gradient","colour":"#4a3526","to":"#140d08","vignette":0.4},{"step":"grade","warmth":0.12,"contrast":1.08},{"step":"frame","width":0.05,"colour":"#3b2a1a"}`,
	"business": `{"step":"backdrop","kind":"blur","radius":0.03},{"step":"backdrop","kind":"gradient","colour":"#d9e1e8","to":"#8c9aa8","vignette":0.1},{"step":"retouch","smooth":0.4,"warmth":0.02,"contrast":1.04}`,
	"hanbok":   `{"step":"backdrop","kind":"gradient","colour":"#f0d2a8","to":"#9c4f33","vignette":0.2},{"step":"grade","warmth":0.08,"contrast":1.05}`,
}

// renderPlaceholders writes the generated styles' placeholders: the
// astronaut through local filters, labelled on the image as not the
// hosted model's drawing, under each generated style's preview name.
func renderPlaceholders(ctx context.Context, cat *styles.Catalogue, rt *onnx.Runtime, in image.Image, out string, side int) error {
	var list []string
	for _, st := range cat.All() {
		if !st.IsGenerated() {
			continue
		}
		look, ok := placeholderLooks[st.ID]
		if !ok {
			look = `{"step":"grade","warmth":0.05}`
		}
		list = append(list, fmt.Sprintf(`{"id":%q,"name":%q,"model":"placeholder","preview":%q,"steps":[%s,%s]}`, st.ID, st.Name, st.Preview, placeholderHead, look))
	}
	if len(list) == 0 {
		return errors.New("the catalogue has no generated styles")
	}
	modelsJSON := "{"
	for i, name := range []string{"blazeface", "isnet-small"} {
		m, ok := cat.Model(name)
		if !ok {
			return fmt.Errorf("the catalogue has no model %s", name)
		}
		b, err := json.Marshal(m)
		if err != nil {
			return err
		}
		if i > 0 {
			modelsJSON += ","
		}
		modelsJSON += fmt.Sprintf("%q:%s", name, b)
	}
	modelsJSON += "}"
	data := `{"models":` + modelsJSON + `,"styles":[` + strings.Join(list, ",") + `]}`
	pc, err := styles.Parse([]byte(data))
	if err != nil {
		return fmt.Errorf("placeholders: %w", err)
	}
	ps, err := pipeline.Build(ctx, pc, rt)
	if err != nil {
		return err
	}
	return render(ctx, pc, ps, in, out, side, func(img *image.RGBA) {
		label(img, "PLACEHOLDER made by local filters", "not the hosted model's drawing")
	})
}

// label writes lines on a dark band at the foot of img.
func label(img *image.RGBA, lines ...string) {
	b := img.Bounds()
	band := image.Rect(0, b.Max.Y-36, b.Max.X, b.Max.Y)
	draw.Draw(img, band, image.NewUniform(color.NRGBA{0, 0, 0, 170}), image.Point{}, draw.Over)
	d := font.Drawer{Dst: img, Src: image.White, Face: basicfont.Face7x13}
	for i, l := range lines {
		d.Dot = fixed.P((b.Dx()-len(l)*7)/2, b.Max.Y-22+i*15)
		d.DrawString(l)
	}
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
