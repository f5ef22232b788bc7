package main

import (
	"math"
	"testing"
)

// TestToInt: the broker sends a table's integers in whatever width it
// chose (x-death's count as int64, a header as the publisher wrote it).
func TestToInt(t *testing.T) {
	for _, c := range []struct {
		in   any
		want int64
	}{
		{int8(-3), -3},
		{int16(300), 300},
		{int32(-70000), -70000},
		{int64(1) << 40, 1 << 40},
		{7, 7},
		{uint8(200), 200},
		{uint16(60000), 60000},
		{uint32(4000000000), 4000000000},
		{uint64(math.MaxUint64), 0}, // does not fit
		{"5", 0},
		{nil, 0},
		{2.5, 0},
	} {
		if got := toInt(c.in); got != c.want {
			t.Errorf("toInt(%T %v) = %d, want %d", c.in, c.in, got, c.want)
		}
	}
}
