// Package report renders aggregation results as an aligned text table,
// JSON or CSV. Every renderer produces byte-identical output for identical
// input: maps are never iterated and numbers are formatted with integer
// arithmetic.
package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"example.com/logstat/internal/aggregate"
	"example.com/logstat/internal/stats"
)

// Section holds the rows for one dimension.
type Section struct {
	Dimension string
	Rows      []aggregate.Row
	Omitted   int
}

// Report is everything a renderer needs.
type Report struct {
	Sources   []string
	Filter    string
	Lines     int64 // non-blank, non-comment lines read
	Invalid   int64 // lines that failed to parse
	Matched   int64 // entries that passed the filter
	Total     aggregate.Row
	Sections  []Section
	Histogram *stats.Histogram // nil to omit
}

// FormatBytes renders a byte count with binary units and one decimal.
func FormatBytes(n int64) string {
	if n < 1024 {
		return strconv.FormatInt(n, 10) + " B"
	}
	units := []string{"KiB", "MiB", "GiB", "TiB"}
	unit := int64(1024)
	for i, name := range units {
		if n < unit*1024 || i == len(units)-1 {
			whole := n / unit
			tenth := stats.DivRound((n%unit)*10, unit)
			if tenth == 10 {
				whole, tenth = whole+1, 0
			}
			if whole == 1024 && i < len(units)-1 {
				return "1.0 " + units[i+1]
			}
			return fmt.Sprintf("%d.%d %s", whole, tenth, name)
		}
		unit *= 1024
	}
	panic("unreachable")
}

// FormatMicros renders a duration given in microseconds.
func FormatMicros(us int64) string {
	switch {
	case us < 0:
		return "-"
	case us < 1000:
		return strconv.FormatInt(us, 10) + "us"
	case us < 1000000:
		t := stats.DivRound(us, 100) // tenths of a millisecond
		if t < 10000 {
			return fmt.Sprintf("%d.%dms", t/10, t%10)
		}
		fallthrough
	default:
		h := stats.DivRound(us, 10000) // hundredths of a second
		return fmt.Sprintf("%d.%02ds", h/100, h%100)
	}
}

// FormatShare renders tenths of a percent as "12.5%".
func FormatShare(permille int64) string {
	return fmt.Sprintf("%d.%d%%", permille/10, permille%10)
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// table accumulates rows and prints them with aligned columns; the first
// column is left aligned and all others right aligned.
type table struct {
	rows [][]string
}

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) write(w io.Writer, indent string) error {
	var widths []int
	for _, r := range t.rows {
		for i, c := range r {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			if n := len([]rune(c)); n > widths[i] {
				widths[i] = n
			}
		}
	}
	var b strings.Builder
	for _, r := range t.rows {
		b.WriteString(indent)
		for i, c := range r {
			pad := strings.Repeat(" ", widths[i]-len([]rune(c)))
			if i == 0 {
				b.WriteString(c)
				if len(r) > 1 {
					b.WriteString(pad)
				}
			} else {
				b.WriteString("  ")
				b.WriteString(pad)
				b.WriteString(c)
			}
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func latencyCells(l *aggregate.Latency) []string {
	if l == nil {
		return []string{"-", "-", "-", "-"}
	}
	return []string{FormatMicros(l.P50), FormatMicros(l.P95), FormatMicros(l.P99), FormatMicros(l.Max)}
}

// WriteTable renders r as human readable text.
func WriteTable(w io.Writer, r *Report) error {
	var b strings.Builder
	t := r.Total
	fmt.Fprintf(&b, "logstat report\n")
	fmt.Fprintf(&b, "  sources:   %s\n", strings.Join(r.Sources, ", "))
	fmt.Fprintf(&b, "  filter:    %s\n", r.Filter)
	fmt.Fprintf(&b, "  lines:     %d (%d parsed, %d invalid)\n", r.Lines, r.Lines-r.Invalid, r.Invalid)
	fmt.Fprintf(&b, "  requests:  %d from %d hosts\n", r.Matched, t.UniqueHosts)
	fmt.Fprintf(&b, "  period:    %s .. %s\n", formatTime(t.First), formatTime(t.Last))
	fmt.Fprintf(&b, "  traffic:   %s\n", FormatBytes(t.Bytes))
	fmt.Fprintf(&b, "  errors:    4xx %d (%s), 5xx %d (%s)\n",
		t.Status4xx, FormatShare(stats.Share(t.Status4xx, t.Requests)),
		t.Status5xx, FormatShare(stats.Share(t.Status5xx, t.Requests)))
	if l := t.Latency; l != nil {
		fmt.Fprintf(&b, "  latency:   n=%d min=%s mean=%s p50=%s p90=%s p95=%s p99=%s max=%s stddev=%s\n",
			l.Samples, FormatMicros(l.Min), FormatMicros(l.Mean), FormatMicros(l.P50), FormatMicros(l.P90),
			FormatMicros(l.P95), FormatMicros(l.P99), FormatMicros(l.Max), FormatMicros(int64(l.StdDev+0.5)))
	} else {
		fmt.Fprintf(&b, "  latency:   no duration field in input\n")
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	for _, s := range r.Sections {
		if _, err := fmt.Fprintf(w, "\n== by %s ==\n", s.Dimension); err != nil {
			return err
		}
		var tb table
		tb.add(strings.ToUpper(s.Dimension), "REQS", "SHARE", "BYTES", "4XX", "5XX", "HOSTS", "P50", "P95", "P99", "MAX")
		for _, row := range s.Rows {
			cells := []string{row.Key, strconv.FormatInt(row.Requests, 10), FormatShare(row.Share), FormatBytes(row.Bytes),
				strconv.FormatInt(row.Status4xx, 10), strconv.FormatInt(row.Status5xx, 10), strconv.Itoa(row.UniqueHosts)}
			tb.add(append(cells, latencyCells(row.Latency)...)...)
		}
		if err := tb.write(w, "  "); err != nil {
			return err
		}
		if s.Omitted > 0 {
			if _, err := fmt.Fprintf(w, "  (%d more)\n", s.Omitted); err != nil {
				return err
			}
		}
	}
	if h := r.Histogram; h != nil && h.Total() > 0 {
		if _, err := io.WriteString(w, "\n== latency histogram ==\n"); err != nil {
			return err
		}
		return writeHistogram(w, h)
	}
	return nil
}

func bucketLabel(bounds []int64, i int) string {
	if i < len(bounds) {
		return "< " + FormatMicros(bounds[i])
	}
	return ">= " + FormatMicros(bounds[len(bounds)-1])
}

func writeHistogram(w io.Writer, h *stats.Histogram) error {
	const width = 40
	var peak int64
	for _, c := range h.Counts {
		if c > peak {
			peak = c
		}
	}
	total := h.Total()
	var tb table
	for i, c := range h.Counts {
		bar := int(stats.DivRound(c*width, peak))
		if c > 0 && bar == 0 {
			bar = 1
		}
		tb.add(bucketLabel(h.Bounds, i), strconv.FormatInt(c, 10), FormatShare(stats.Share(c, total)), strings.Repeat("#", bar)+strings.Repeat(" ", width-bar))
	}
	var b strings.Builder
	if err := tb.write(&b, "  "); err != nil {
		return err
	}
	// The bar column is padded to a fixed width for alignment; strip the
	// trailing blanks so the output has no trailing whitespace.
	lines := strings.SplitAfter(b.String(), "\n")
	for i, l := range lines {
		if strings.HasSuffix(l, "\n") {
			lines[i] = strings.TrimRight(l[:len(l)-1], " ") + "\n"
		}
	}
	_, err := io.WriteString(w, strings.Join(lines, ""))
	return err
}

type jsonLatency struct {
	Samples  int         `json:"samples"`
	MinUs    int64       `json:"min_us"`
	MeanUs   int64       `json:"mean_us"`
	P50Us    int64       `json:"p50_us"`
	P90Us    int64       `json:"p90_us"`
	P95Us    int64       `json:"p95_us"`
	P99Us    int64       `json:"p99_us"`
	MaxUs    int64       `json:"max_us"`
	StdDevUs json.Number `json:"stddev_us"`
}

type jsonRow struct {
	Key         string       `json:"key"`
	Requests    int64        `json:"requests"`
	SharePct    json.Number  `json:"share_pct"`
	Bytes       int64        `json:"bytes"`
	Status4xx   int64        `json:"status_4xx"`
	Status5xx   int64        `json:"status_5xx"`
	UniqueHosts int          `json:"unique_hosts"`
	First       string       `json:"first"`
	Last        string       `json:"last"`
	Latency     *jsonLatency `json:"latency"`
}

type jsonSection struct {
	Dimension string    `json:"dimension"`
	Rows      []jsonRow `json:"rows"`
	Omitted   int       `json:"omitted"`
}

type jsonBucket struct {
	UpperUs *int64 `json:"upper_us"`
	Count   int64  `json:"count"`
}

type jsonReport struct {
	Sources   []string      `json:"sources"`
	Filter    string        `json:"filter"`
	Lines     int64         `json:"lines"`
	Invalid   int64         `json:"invalid"`
	Matched   int64         `json:"matched"`
	Total     jsonRow       `json:"total"`
	Sections  []jsonSection `json:"sections"`
	Histogram []jsonBucket  `json:"histogram,omitempty"`
}

func permilleNumber(p int64) json.Number {
	return json.Number(fmt.Sprintf("%d.%d", p/10, p%10))
}

func toJSONRow(r aggregate.Row) jsonRow {
	j := jsonRow{
		Key: r.Key, Requests: r.Requests, SharePct: permilleNumber(r.Share), Bytes: r.Bytes,
		Status4xx: r.Status4xx, Status5xx: r.Status5xx, UniqueHosts: r.UniqueHosts,
		First: formatTime(r.First), Last: formatTime(r.Last),
	}
	if l := r.Latency; l != nil {
		j.Latency = &jsonLatency{
			Samples: l.Samples, MinUs: l.Min, MeanUs: l.Mean, P50Us: l.P50, P90Us: l.P90,
			P95Us: l.P95, P99Us: l.P99, MaxUs: l.Max,
			StdDevUs: json.Number(strconv.FormatFloat(l.StdDev, 'f', 1, 64)),
		}
	}
	return j
}

// WriteJSON renders r as indented JSON.
func WriteJSON(w io.Writer, r *Report) error {
	out := jsonReport{
		Sources: r.Sources, Filter: r.Filter, Lines: r.Lines, Invalid: r.Invalid,
		Matched: r.Matched, Total: toJSONRow(r.Total), Sections: []jsonSection{},
	}
	if out.Sources == nil {
		out.Sources = []string{}
	}
	for _, s := range r.Sections {
		js := jsonSection{Dimension: s.Dimension, Omitted: s.Omitted, Rows: []jsonRow{}}
		for _, row := range s.Rows {
			js.Rows = append(js.Rows, toJSONRow(row))
		}
		out.Sections = append(out.Sections, js)
	}
	if h := r.Histogram; h != nil && h.Total() > 0 {
		for i, c := range h.Counts {
			b := jsonBucket{Count: c}
			if i < len(h.Bounds) {
				v := h.Bounds[i]
				b.UpperUs = &v
			}
			out.Histogram = append(out.Histogram, b)
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(out)
}

// CSVHeader is the header row written by WriteCSV.
var CSVHeader = []string{
	"dimension", "key", "requests", "share_pct", "bytes", "status_4xx", "status_5xx", "unique_hosts",
	"latency_samples", "p50_us", "p90_us", "p95_us", "p99_us", "max_us", "mean_us",
}

func csvRow(dim string, r aggregate.Row) []string {
	rec := []string{
		dim, r.Key, strconv.FormatInt(r.Requests, 10), string(permilleNumber(r.Share)),
		strconv.FormatInt(r.Bytes, 10), strconv.FormatInt(r.Status4xx, 10),
		strconv.FormatInt(r.Status5xx, 10), strconv.Itoa(r.UniqueHosts),
	}
	if l := r.Latency; l != nil {
		for _, v := range []int64{int64(l.Samples), l.P50, l.P90, l.P95, l.P99, l.Max, l.Mean} {
			rec = append(rec, strconv.FormatInt(v, 10))
		}
	} else {
		rec = append(rec, "0", "", "", "", "", "", "")
	}
	return rec
}

// WriteCSV renders the total and every section row as one CSV table.
func WriteCSV(w io.Writer, r *Report) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	if err := cw.Write(csvRow("total", r.Total)); err != nil {
		return err
	}
	for _, s := range r.Sections {
		for _, row := range s.Rows {
			if err := cw.Write(csvRow(s.Dimension, row)); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// Write renders r in the named format: "table", "json" or "csv".
func Write(w io.Writer, format string, r *Report) error {
	switch format {
	case "table":
		return WriteTable(w, r)
	case "json":
		return WriteJSON(w, r)
	case "csv":
		return WriteCSV(w, r)
	}
	return fmt.Errorf("unknown format %q (valid: table, json, csv)", format)
}
