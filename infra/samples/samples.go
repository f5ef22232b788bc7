// Package samples holds the public-domain photos the demo and the tests use,
// as shipped in Debian's python3-skimage data (skimage/data):
//
//   - astronaut.png: NASA's portrait of astronaut Eileen Collins (public
//     domain, NASA), 512x512.
//   - coffee.png: a cup of coffee, no person (public domain, CC0, courtesy
//     of Pikrepo), 600x400.
package samples

import (
	"bytes"
	_ "embed"
)

//go:embed astronaut.png
var astronaut []byte

//go:embed coffee.png
var coffee []byte

// Astronaut is a portrait with one face (PNG).
func Astronaut() []byte { return bytes.Clone(astronaut) }

// Coffee is a photo without a person (PNG).
func Coffee() []byte { return bytes.Clone(coffee) }
