// Package aggregate groups log entries along one or more dimensions
// (status code, path, time bucket, ...) and computes per-group traffic and
// latency statistics.
package aggregate

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"example.com/logstat/internal/logparse"
	"example.com/logstat/internal/stats"
)

// Dimension is a property entries can be grouped by.
type Dimension int

// The supported dimensions.
const (
	Status Dimension = iota
	Class
	Method
	Path
	Host
	Agent
	Minute
	Hour
	Day
)

var dimNames = [...]string{"status", "class", "method", "path", "host", "agent", "minute", "hour", "day"}

func (d Dimension) String() string {
	if d < 0 || int(d) >= len(dimNames) {
		return "dimension(" + strconv.Itoa(int(d)) + ")"
	}
	return dimNames[d]
}

// Temporal reports whether d is a time bucket. Temporal groups are always
// listed in chronological order and never truncated.
func (d Dimension) Temporal() bool { return d >= Minute }

// DimensionNames lists all valid dimension names.
func DimensionNames() []string { return append([]string(nil), dimNames[:]...) }

// ParseDimensions parses a comma separated list such as "status,path,hour".
func ParseDimensions(spec string) ([]Dimension, error) {
	var out []Dimension
	seen := map[Dimension]bool{}
	for _, name := range strings.Split(spec, ",") {
		name = strings.ToLower(strings.TrimSpace(name))
		if name == "" {
			continue
		}
		found := false
		for i, n := range dimNames {
			if n == name {
				d := Dimension(i)
				if !seen[d] {
					out = append(out, d)
					seen[d] = true
				}
				found = true
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown dimension %q (valid: %s)", name, strings.Join(dimNames[:], ", "))
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no dimensions given")
	}
	return out, nil
}

// SortKey orders the rows of a non-temporal dimension.
type SortKey int

// The supported sort keys.
const (
	ByRequests SortKey = iota
	ByBytes
	ByKey
	ByP95
	ByErrors
)

var sortNames = [...]string{"requests", "bytes", "key", "p95", "errors"}

func (s SortKey) String() string { return sortNames[s] }

// ParseSortKey parses a sort key name.
func ParseSortKey(s string) (SortKey, error) {
	for i, n := range sortNames {
		if n == s {
			return SortKey(i), nil
		}
	}
	return 0, fmt.Errorf("unknown sort key %q (valid: %s)", s, strings.Join(sortNames[:], ", "))
}

// LatencyBounds are the histogram bucket upper bounds in microseconds.
var LatencyBounds = []int64{1000, 5000, 10000, 50000, 100000, 500000, 1000000, 5000000}

// Options tune the aggregation.
type Options struct {
	// NormalizePaths replaces identifier-like path segments (numbers,
	// UUIDs, long hex strings) with placeholders so that /user/17 and
	// /user/42 end up in the same group.
	NormalizePaths bool
}

type group struct {
	key        string
	requests   int64
	bytes      int64
	c4xx, c5xx int64
	latency    stats.Digest
	hosts      map[string]struct{}
	first      time.Time
	last       time.Time
}

func newGroup(key string) *group {
	return &group{key: key, hosts: make(map[string]struct{})}
}

func (g *group) add(e *logparse.Entry) {
	g.requests++
	if e.Bytes > 0 {
		g.bytes += e.Bytes
	}
	switch {
	case e.Status >= 500:
		g.c5xx++
	case e.Status >= 400:
		g.c4xx++
	}
	if e.Duration >= 0 {
		g.latency.Add(e.Duration)
	}
	g.hosts[e.RemoteAddr] = struct{}{}
	if g.first.IsZero() || e.Time.Before(g.first) {
		g.first = e.Time
	}
	if e.Time.After(g.last) {
		g.last = e.Time
	}
}

// Latency summarises request durations in microseconds.
type Latency struct {
	Samples int
	Min     int64
	Mean    int64
	P50     int64
	P90     int64
	P95     int64
	P99     int64
	Max     int64
	StdDev  float64
}

// Row is the result for one group.
type Row struct {
	Key         string
	Requests    int64
	Share       int64 // of all requests, in tenths of a percent
	Bytes       int64
	Status4xx   int64
	Status5xx   int64
	UniqueHosts int
	Latency     *Latency // nil when no entry of the group had a duration
	First, Last time.Time
}

func (g *group) row(total int64) Row {
	r := Row{
		Key:         g.key,
		Requests:    g.requests,
		Share:       stats.Share(g.requests, total),
		Bytes:       g.bytes,
		Status4xx:   g.c4xx,
		Status5xx:   g.c5xx,
		UniqueHosts: len(g.hosts),
		First:       g.first,
		Last:        g.last,
	}
	if d := &g.latency; d.Count() > 0 {
		r.Latency = &Latency{
			Samples: d.Count(),
			Min:     d.Min(),
			Mean:    d.Mean(),
			P50:     d.PerMille(500),
			P90:     d.PerMille(900),
			P95:     d.PerMille(950),
			P99:     d.PerMille(990),
			Max:     d.Max(),
			StdDev:  d.StdDev(),
		}
	}
	return r
}

// Aggregator accumulates entries.
type Aggregator struct {
	opts    Options
	dims    []Dimension
	groups  map[Dimension]map[string]*group
	total   *group
	hist    *stats.Histogram
	methods *stats.Counter
}

// New returns an aggregator for the given dimensions.
func New(dims []Dimension, opts Options) *Aggregator {
	a := &Aggregator{
		opts:    opts,
		dims:    append([]Dimension(nil), dims...),
		groups:  make(map[Dimension]map[string]*group),
		total:   newGroup("total"),
		hist:    stats.NewHistogram(LatencyBounds...),
		methods: stats.NewCounter(),
	}
	for _, d := range dims {
		a.groups[d] = make(map[string]*group)
	}
	return a
}

// Dimensions returns the dimensions in the order they were requested.
func (a *Aggregator) Dimensions() []Dimension { return append([]Dimension(nil), a.dims...) }

// Key returns the group key of e for dimension d.
func (a *Aggregator) Key(d Dimension, e *logparse.Entry) string {
	switch d {
	case Status:
		return strconv.Itoa(e.Status)
	case Class:
		return strconv.Itoa(e.Status/100) + "xx"
	case Method:
		return e.Method
	case Path:
		if a.opts.NormalizePaths {
			return NormalizePath(e.Path)
		}
		return e.Path
	case Host:
		return e.RemoteAddr
	case Agent:
		return AgentFamily(e.UserAgent)
	case Minute:
		return e.Time.Truncate(time.Minute).Format("2006-01-02T15:04Z")
	case Hour:
		return e.Time.Truncate(time.Hour).Format("2006-01-02T15:00Z")
	case Day:
		return e.Time.Format("2006-01-02")
	}
	panic("aggregate: unknown dimension " + d.String())
}

// Add records one entry.
func (a *Aggregator) Add(e *logparse.Entry) {
	a.total.add(e)
	a.methods.Add(e.Method, 1)
	if e.Duration >= 0 {
		a.hist.Add(e.Duration)
	}
	for _, d := range a.dims {
		k := a.Key(d, e)
		g := a.groups[d][k]
		if g == nil {
			g = newGroup(k)
			a.groups[d][k] = g
		}
		g.add(e)
	}
}

// Total returns the row aggregating every entry.
func (a *Aggregator) Total() Row { return a.total.row(a.total.requests) }

// Histogram returns the latency histogram over all entries with a duration.
func (a *Aggregator) Histogram() *stats.Histogram { return a.hist }

// Rows returns the groups of dimension d sorted by key s. For
// non-temporal dimensions at most limit rows are returned (all when
// limit <= 0) and omitted is the number of groups left out. Temporal
// dimensions are always complete and chronological.
func (a *Aggregator) Rows(d Dimension, s SortKey, limit int) (rows []Row, omitted int) {
	m, ok := a.groups[d]
	if !ok {
		return nil, 0
	}
	for _, g := range m {
		rows = append(rows, g.row(a.total.requests))
	}
	if d.Temporal() {
		s = ByKey
		limit = 0
	}
	less := func(i, j int) bool { return rows[i].Key < rows[j].Key }
	sort.Slice(rows, func(i, j int) bool {
		x, y := rows[i], rows[j]
		switch s {
		case ByRequests:
			if x.Requests != y.Requests {
				return x.Requests > y.Requests
			}
		case ByBytes:
			if x.Bytes != y.Bytes {
				return x.Bytes > y.Bytes
			}
		case ByP95:
			var px, py int64 = -1, -1
			if x.Latency != nil {
				px = x.Latency.P95
			}
			if y.Latency != nil {
				py = y.Latency.P95
			}
			if px != py {
				return px > py
			}
		case ByErrors:
			ex, ey := x.Status4xx+x.Status5xx, y.Status4xx+y.Status5xx
			if ex != ey {
				return ex > ey
			}
		}
		return less(i, j)
	})
	if limit > 0 && len(rows) > limit {
		omitted = len(rows) - limit
		rows = rows[:limit]
	}
	return rows, omitted
}

// NormalizePath replaces identifier-like path segments with placeholders:
// decimal numbers become ":id", UUIDs ":uuid" and hex strings of 16 or
// more characters ":hex". A trailing slash (other than the root) is
// removed.
func NormalizePath(p string) string {
	if p == "" || p == "-" || p == "/" {
		return p
	}
	segs := strings.Split(p, "/")
	for i, s := range segs {
		switch {
		case s == "":
		case isDigits(s):
			segs[i] = ":id"
		case isUUID(s):
			segs[i] = ":uuid"
		case len(s) >= 16 && isHex(s):
			segs[i] = ":hex"
		}
	}
	out := strings.Join(segs, "/")
	if len(out) > 1 && strings.HasSuffix(out, "/") {
		out = out[:len(out)-1]
	}
	return out
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return s != ""
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for _, n := range []int{8, 13, 18, 23} {
		if s[n] != '-' {
			return false
		}
	}
	return isHex(s[0:8]) && isHex(s[9:13]) && isHex(s[14:18]) && isHex(s[19:23]) && isHex(s[24:])
}

// AgentFamily classifies a User-Agent header into a coarse family.
func AgentFamily(ua string) string {
	if ua == "" || ua == "-" {
		return "-"
	}
	l := strings.ToLower(ua)
	switch {
	case strings.Contains(l, "bot") || strings.Contains(l, "crawler") || strings.Contains(l, "spider"):
		return "bot"
	case strings.HasPrefix(l, "curl/"):
		return "curl"
	case strings.HasPrefix(l, "wget/"):
		return "wget"
	case strings.HasPrefix(l, "python-requests/") || strings.HasPrefix(l, "python-urllib/"):
		return "python"
	case strings.HasPrefix(l, "go-http-client/"):
		return "go"
	case strings.Contains(ua, "Firefox/"):
		return "firefox"
	case strings.Contains(ua, "Edg/"):
		return "edge"
	case strings.Contains(ua, "Chrome/"):
		return "chrome"
	case strings.Contains(ua, "Safari/"):
		return "safari"
	}
	return "other"
}
