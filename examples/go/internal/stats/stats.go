// Package stats provides the small statistical building blocks used by
// logstat: an exact order-statistics digest over integer samples, a string
// counter with deterministic top-k, and a fixed-bucket histogram.
//
// All results are computed with integer arithmetic where possible. Where
// floating point is unavoidable (standard deviation) every product is
// explicitly converted to float64, which in Go forbids the compiler from
// fusing it into a multiply-add. Without that, an arm64 build could print a
// different last digit than an amd64 build of the same code.
package stats

import (
	"math"
	"sort"
)

// Digest collects integer samples and answers exact order statistics.
// The zero value is ready to use.
type Digest struct {
	vals   []int64
	sorted bool
	sum    int64
	min    int64
	max    int64
}

// Add records one sample.
func (d *Digest) Add(v int64) {
	if len(d.vals) == 0 || v < d.min {
		d.min = v
	}
	if len(d.vals) == 0 || v > d.max {
		d.max = v
	}
	d.vals = append(d.vals, v)
	d.sum += v
	d.sorted = false
}

// Merge adds every sample of o to d.
func (d *Digest) Merge(o *Digest) {
	for _, v := range o.vals {
		d.Add(v)
	}
}

// Count returns the number of samples.
func (d *Digest) Count() int { return len(d.vals) }

// Sum returns the sum of all samples.
func (d *Digest) Sum() int64 { return d.sum }

// Min returns the smallest sample, or 0 for an empty digest.
func (d *Digest) Min() int64 { return d.min }

// Max returns the largest sample, or 0 for an empty digest.
func (d *Digest) Max() int64 { return d.max }

// Mean returns the arithmetic mean rounded half away from zero, or 0 for an
// empty digest.
func (d *Digest) Mean() int64 {
	n := int64(len(d.vals))
	if n == 0 {
		return 0
	}
	return DivRound(d.sum, n)
}

// DivRound divides a by b (b > 0) rounding half away from zero.
func DivRound(a, b int64) int64 {
	if a >= 0 {
		return (a + b/2) / b
	}
	return -((-a + b/2) / b)
}

// StdDev returns the population standard deviation.
func (d *Digest) StdDev() float64 {
	n := len(d.vals)
	if n < 2 {
		return 0
	}
	mean := float64(d.sum) / float64(n)
	var acc float64
	for _, v := range d.vals {
		dev := float64(v) - mean
		acc += float64(dev * dev) // explicit conversion: no FMA contraction
	}
	return math.Sqrt(acc / float64(n))
}

func (d *Digest) sort() {
	if !d.sorted {
		sort.Slice(d.vals, func(i, j int) bool { return d.vals[i] < d.vals[j] })
		d.sorted = true
	}
}

// PerMille returns the nearest-rank quantile for pm/1000: the smallest
// sample such that at least pm/1000 of all samples are less than or equal
// to it. PerMille(500) is the median, PerMille(990) the 99th percentile.
// It returns 0 for an empty digest.
func (d *Digest) PerMille(pm int) int64 {
	n := len(d.vals)
	if n == 0 {
		return 0
	}
	if pm <= 0 {
		return d.min
	}
	if pm >= 1000 {
		return d.max
	}
	d.sort()
	rank := (pm*n + 999) / 1000 // ceil(pm*n/1000)
	if rank < 1 {
		rank = 1
	}
	return d.vals[rank-1]
}

// Percentile is PerMille(p*10).
func (d *Digest) Percentile(p int) int64 { return d.PerMille(p * 10) }

// KV is one counter entry.
type KV struct {
	Key   string
	Count int64
}

// Counter counts occurrences of strings.
type Counter struct {
	m     map[string]int64
	total int64
}

// NewCounter returns an empty counter.
func NewCounter() *Counter { return &Counter{m: make(map[string]int64)} }

// Add adds n occurrences of key.
func (c *Counter) Add(key string, n int64) {
	c.m[key] += n
	c.total += n
}

// Get returns the count of key.
func (c *Counter) Get(key string) int64 { return c.m[key] }

// Len returns the number of distinct keys.
func (c *Counter) Len() int { return len(c.m) }

// Total returns the sum of all counts.
func (c *Counter) Total() int64 { return c.total }

// Top returns the k most frequent keys, ties broken by key, or all keys
// when k <= 0.
func (c *Counter) Top(k int) []KV {
	out := make([]KV, 0, len(c.m))
	for key, n := range c.m {
		out = append(out, KV{key, n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Key < out[j].Key
	})
	if k > 0 && len(out) > k {
		out = out[:k]
	}
	return out
}

// Histogram counts samples into buckets delimited by ascending upper
// bounds. A sample v falls into the first bucket whose bound is > v; samples
// larger than every bound go into a final overflow bucket.
type Histogram struct {
	Bounds []int64
	Counts []int64 // len(Bounds)+1 entries
}

// NewHistogram returns a histogram with the given ascending bounds.
func NewHistogram(bounds ...int64) *Histogram {
	for i := 1; i < len(bounds); i++ {
		if bounds[i] <= bounds[i-1] {
			panic("stats: histogram bounds must be strictly ascending")
		}
	}
	b := append([]int64(nil), bounds...)
	return &Histogram{Bounds: b, Counts: make([]int64, len(b)+1)}
}

// Add records one sample.
func (h *Histogram) Add(v int64) {
	i := sort.Search(len(h.Bounds), func(i int) bool { return h.Bounds[i] > v })
	h.Counts[i]++
}

// Total returns the number of samples recorded.
func (h *Histogram) Total() int64 {
	var t int64
	for _, c := range h.Counts {
		t += c
	}
	return t
}

// Share returns part/whole in tenths of a percent, rounded, i.e. 1000 means
// 100.0%. It returns 0 when whole is 0.
func Share(part, whole int64) int64 {
	if whole <= 0 {
		return 0
	}
	return DivRound(part*1000, whole)
}
