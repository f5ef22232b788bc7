// Command previews renders every style of the built-in catalogue on the
// bundled astronaut portrait with the real models and writes a thumbnail of
// each to infra/styles/previews/<style>.jpg: the example outputs the Gateway
// lists and the README shows. Run from the repository root after make setup:
//
//	go run ./worker/cmd/previews
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"image"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	xdraw "golang.org/x/image/draw"

	"github.com/tigerstudio/studio/infra/logging"
	"github.com/tigerstudio/studio/infra/samples"
	"github.com/tigerstudio/studio/infra/styles"
	"github.com/tigerstudio/studio/worker/generate/onnx"
	"github.com/tigerstudio/studio/worker/generate/pipeline"
	"github.com/tigerstudio/studio/worker/imaging"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := realMain(ctx)
	stop()
	if err != nil {
		logging.New(os.Stderr, slog.LevelInfo).Error("previews failed", "err", err)
		os.Exit(1)
	}
}

func realMain(ctx context.Context) error {
	out := flag.String("out", "infra/styles/previews", "folder for the thumbnails")
	side := flag.Int("side", 320, "longer side of a thumbnail in pixels")
	models := flag.String("models", "models", "model folder (models/install.sh)")
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
	ps, err := pipeline.Build(ctx, cat, rt)
	if err != nil {
		return err
	}
	in, err := imaging.Decode(samples.Astronaut())
	if err != nil {
		return err
	}
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
		w, h := imaging.FitSize(img.Bounds().Dx(), img.Bounds().Dy(), *side)
		thumb := image.NewRGBA(image.Rect(0, 0, w, h))
		xdraw.CatmullRom.Scale(thumb, thumb.Bounds(), img, img.Bounds(), xdraw.Src, nil)
		data, err := imaging.EncodeJPEG(thumb, 85)
		if err != nil {
			return err
		}
		path := filepath.Join(*out, st.Preview)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return err
		}
		fmt.Printf("%s: %dx%d -> %s (%d bytes)\n", st.ID, img.Bounds().Dx(), img.Bounds().Dy(), path, len(data))
	}
	return errors.Join(errs...)
}
