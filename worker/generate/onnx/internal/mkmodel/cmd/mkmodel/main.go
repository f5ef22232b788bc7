// Command mkmodel writes the onnx backend's test model and prints the
// catalogue params (file, sha256) that select it, for trying the onnx backend
// locally without a real style model.
//
//	go run ./worker/generate/onnx/internal/mkmodel/cmd/mkmodel -o .local/models/test-conv.onnx
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tigerstudio/studio/worker/generate/onnx/internal/mkmodel"
)

func main() {
	out := flag.String("o", "test-conv.onnx", "where to write the model")
	flag.Parse()
	if err := run(*out); err != nil {
		fmt.Fprintln(os.Stderr, "mkmodel:", err)
		os.Exit(1)
	}
}

func run(out string) error {
	data, err := mkmodel.Default().ONNX()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(out, data, 0o644); err != nil {
		return err
	}
	sum := sha256.Sum256(data)
	fmt.Printf(`{"file": %q, "sha256": %q}`+"\n", filepath.Base(out), hex.EncodeToString(sum[:]))
	return nil
}
