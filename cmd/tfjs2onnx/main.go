// Command tfjs2onnx converts a TensorFlow.js layers model (model.json and the
// weight shards beside it) to an ONNX model; see package models/tfjs2onnx
// for the layers it converts. models/install.sh runs it at make setup.
//
//	go run ./cmd/tfjs2onnx -o esrgan-medium-x4.onnx path/to/model.json
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tigerstudio/studio/models/tfjs2onnx"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "tfjs2onnx:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("tfjs2onnx", flag.ContinueOnError)
	out := fs.String("o", "", "the ONNX file to write (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 || *out == "" {
		return fmt.Errorf("usage: tfjs2onnx -o model.onnx path/to/model.json")
	}
	m, err := tfjs2onnx.Load(fs.Arg(0))
	if err != nil {
		return err
	}
	data, err := tfjs2onnx.Convert(m)
	if err != nil {
		return err
	}
	// Written beside the target and renamed, so a failed conversion never
	// leaves a half-written model where the checksum check would look.
	tmp, err := os.CreateTemp(filepath.Dir(*out), ".tfjs2onnx-*")
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), *out)
}
