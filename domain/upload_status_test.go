package domain

import (
	"reflect"
	"testing"
)

func TestIndexRanges(t *testing.T) {
	for _, c := range []struct {
		name string
		in   []int
		want [][2]int
	}{
		{"None", nil, [][2]int{}},
		{"One", []int{7}, [][2]int{{7, 7}}},
		{"Run", []int{0, 1, 2, 3, 4}, [][2]int{{0, 4}}},
		{"Gaps", []int{0, 1, 3}, [][2]int{{0, 1}, {3, 3}}},
		{"Several", []int{0, 1, 2, 3, 4, 7, 9, 10}, [][2]int{{0, 4}, {7, 7}, {9, 10}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := IndexRanges(c.in); !reflect.DeepEqual(got, c.want) {
				t.Errorf("IndexRanges(%v) = %v, want %v", c.in, got, c.want)
			}
		})
	}
}
