package stats

import (
	"math"
	"testing"
)

func TestDigestEmpty(t *testing.T) {
	var d Digest
	if d.Count() != 0 || d.Mean() != 0 || d.PerMille(500) != 0 || d.StdDev() != 0 || d.Min() != 0 || d.Max() != 0 {
		t.Fatal("empty digest should report zeros")
	}
}

func TestDigestOrderStatistics(t *testing.T) {
	var d Digest
	for _, v := range []int64{15, 20, 35, 40, 50} {
		d.Add(v)
	}
	// Nearest-rank examples from the classic textbook definition.
	cases := map[int]int64{5: 15, 30: 20, 40: 20, 50: 35, 100: 50, 0: 15}
	for p, want := range cases {
		if got := d.Percentile(p); got != want {
			t.Errorf("P%d = %d, want %d", p, got, want)
		}
	}
	if d.Min() != 15 || d.Max() != 50 || d.Sum() != 160 || d.Mean() != 32 {
		t.Errorf("min/max/sum/mean = %d/%d/%d/%d", d.Min(), d.Max(), d.Sum(), d.Mean())
	}
}

func TestDigestUnsortedInputAndAddAfterQuery(t *testing.T) {
	var d Digest
	for i := int64(100); i >= 1; i-- {
		d.Add(i)
	}
	if got := d.PerMille(990); got != 99 {
		t.Errorf("p99 = %d", got)
	}
	d.Add(1000)
	if got := d.PerMille(999); got != 1000 {
		t.Errorf("p99.9 after add = %d", got)
	}
	if got := d.Percentile(50); got != 51 {
		t.Errorf("median = %d", got)
	}
}

func TestStdDev(t *testing.T) {
	var d Digest
	for _, v := range []int64{2, 4, 4, 4, 5, 5, 7, 9} {
		d.Add(v)
	}
	if got := d.StdDev(); got != 2 {
		t.Errorf("stddev = %v, want 2", got)
	}
	var e Digest
	e.Add(1)
	e.Add(2)
	if got := e.StdDev(); math.Abs(got-0.5) > 1e-12 {
		t.Errorf("stddev = %v, want 0.5", got)
	}
}

func TestMerge(t *testing.T) {
	var a, b Digest
	a.Add(1)
	a.Add(9)
	b.Add(-4)
	a.Merge(&b)
	if a.Count() != 3 || a.Min() != -4 || a.Max() != 9 || a.Sum() != 6 {
		t.Errorf("merged digest wrong: %d %d %d %d", a.Count(), a.Min(), a.Max(), a.Sum())
	}
}

func TestDivRound(t *testing.T) {
	cases := []struct{ a, b, want int64 }{
		{5, 2, 3}, {4, 2, 2}, {7, 3, 2}, {-5, 2, -3}, {-7, 3, -2}, {0, 9, 0}, {1, 3, 0}, {2, 3, 1},
	}
	for _, c := range cases {
		if got := DivRound(c.a, c.b); got != c.want {
			t.Errorf("DivRound(%d,%d) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

func TestCounterTop(t *testing.T) {
	c := NewCounter()
	for _, k := range []string{"b", "a", "c", "b", "a", "d"} {
		c.Add(k, 1)
	}
	c.Add("e", 5)
	top := c.Top(3)
	want := []KV{{"e", 5}, {"a", 2}, {"b", 2}}
	if len(top) != len(want) {
		t.Fatalf("top = %v", top)
	}
	for i := range want {
		if top[i] != want[i] {
			t.Errorf("top[%d] = %v, want %v", i, top[i], want[i])
		}
	}
	if c.Len() != 5 || c.Total() != 11 || c.Get("zzz") != 0 || len(c.Top(0)) != 5 {
		t.Errorf("len/total = %d/%d", c.Len(), c.Total())
	}
}

func TestHistogram(t *testing.T) {
	h := NewHistogram(10, 100, 1000)
	for _, v := range []int64{0, 9, 10, 99, 100, 999, 1000, 5000} {
		h.Add(v)
	}
	want := []int64{2, 2, 2, 2}
	for i, c := range want {
		if h.Counts[i] != c {
			t.Errorf("bucket %d = %d, want %d", i, h.Counts[i], c)
		}
	}
	if h.Total() != 8 {
		t.Errorf("total = %d", h.Total())
	}
	defer func() {
		if recover() == nil {
			t.Error("expected panic for unsorted bounds")
		}
	}()
	NewHistogram(5, 5)
}

func TestShare(t *testing.T) {
	if Share(1, 3) != 333 || Share(2, 3) != 667 || Share(5, 0) != 0 || Share(7, 7) != 1000 {
		t.Error("Share rounding wrong")
	}
}
