package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"example.com/logstat/internal/aggregate"
	"example.com/logstat/internal/stats"
)

func TestFormatBytes(t *testing.T) {
	cases := map[int64]string{
		0:                    "0 B",
		1023:                 "1023 B",
		1024:                 "1.0 KiB",
		1536:                 "1.5 KiB",
		1048575:              "1.0 MiB",
		10 * 1048576:         "10.0 MiB",
		1073741824 + 1e8:     "1.1 GiB",
		5 * 1099511627776:    "5.0 TiB",
		2048 * 1099511627776: "2048.0 TiB",
	}
	for in, want := range cases {
		if got := FormatBytes(in); got != want {
			t.Errorf("FormatBytes(%d) = %q, want %q", in, got, want)
		}
	}
}

func TestFormatMicros(t *testing.T) {
	cases := map[int64]string{
		-1:       "-",
		0:        "0us",
		999:      "999us",
		1000:     "1.0ms",
		1049:     "1.0ms",
		1050:     "1.1ms",
		999949:   "999.9ms",
		999950:   "1.00s",
		1234567:  "1.23s",
		61000000: "61.00s",
	}
	for in, want := range cases {
		if got := FormatMicros(in); got != want {
			t.Errorf("FormatMicros(%d) = %q, want %q", in, got, want)
		}
	}
	if FormatShare(1000) != "100.0%" || FormatShare(5) != "0.5%" {
		t.Error("FormatShare wrong")
	}
}

func sampleReport() *Report {
	t0 := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	lat := &aggregate.Latency{Samples: 2, Min: 900, Mean: 5450, P50: 900, P90: 10000, P95: 10000, P99: 10000, Max: 10000, StdDev: 4550}
	h := stats.NewHistogram(1000, 5000)
	h.Add(900)
	h.Add(10000)
	return &Report{
		Sources: []string{"a.log"},
		Filter:  "none",
		Lines:   4, Invalid: 1, Matched: 3,
		Total: aggregate.Row{Key: "total", Requests: 3, Share: 1000, Bytes: 2048, Status5xx: 1, UniqueHosts: 2,
			Latency: lat, First: t0, Last: t0.Add(time.Hour)},
		Sections: []Section{{
			Dimension: "status",
			Rows: []aggregate.Row{
				{Key: "200", Requests: 2, Share: 667, Bytes: 2048, UniqueHosts: 2, Latency: lat},
				{Key: "502", Requests: 1, Share: 333, Status5xx: 1, UniqueHosts: 1},
			},
			Omitted: 1,
		}},
		Histogram: h,
	}
}

func TestWriteTable(t *testing.T) {
	var b bytes.Buffer
	if err := Write(&b, "table", sampleReport()); err != nil {
		t.Fatal(err)
	}
	want := `logstat report
  sources:   a.log
  filter:    none
  lines:     4 (3 parsed, 1 invalid)
  requests:  3 from 2 hosts
  period:    2024-03-01T10:00:00Z .. 2024-03-01T11:00:00Z
  traffic:   2.0 KiB
  errors:    4xx 0 (0.0%), 5xx 1 (33.3%)
  latency:   n=2 min=900us mean=5.5ms p50=900us p90=10.0ms p95=10.0ms p99=10.0ms max=10.0ms stddev=4.6ms

== by status ==
  STATUS  REQS  SHARE    BYTES  4XX  5XX  HOSTS    P50     P95     P99     MAX
  200        2  66.7%  2.0 KiB    0    0      2  900us  10.0ms  10.0ms  10.0ms
  502        1  33.3%      0 B    0    1      1      -       -       -       -
  (1 more)

== latency histogram ==
  < 1.0ms   1  50.0%  ########################################
  < 5.0ms   0   0.0%
  >= 5.0ms  1  50.0%  ########################################
`
	if b.String() != want {
		t.Errorf("table output mismatch:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestWriteJSON(t *testing.T) {
	var b bytes.Buffer
	if err := Write(&b, "json", sampleReport()); err != nil {
		t.Fatal(err)
	}
	var back map[string]interface{}
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatalf("invalid JSON: %v\n%s", err, b.String())
	}
	for _, frag := range []string{`"share_pct": 66.7`, `"stddev_us": 4550.0`, `"upper_us": null`, `"latency": null`, `"omitted": 1`} {
		if !strings.Contains(b.String(), frag) {
			t.Errorf("JSON lacks %s:\n%s", frag, b.String())
		}
	}
	// An empty report must still produce arrays, not nulls.
	b.Reset()
	if err := WriteJSON(&b, &Report{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `"sources": []`) || !strings.Contains(b.String(), `"sections": []`) {
		t.Errorf("empty report JSON:\n%s", b.String())
	}
}

func TestWriteCSV(t *testing.T) {
	var b bytes.Buffer
	if err := Write(&b, "csv", sampleReport()); err != nil {
		t.Fatal(err)
	}
	want := strings.Join(CSVHeader, ",") + "\n" +
		"total,total,3,100.0,2048,0,1,2,2,900,10000,10000,10000,10000,5450\n" +
		"status,200,2,66.7,2048,0,0,2,2,900,10000,10000,10000,10000,5450\n" +
		"status,502,1,33.3,0,0,1,1,0,,,,,,\n"
	if b.String() != want {
		t.Errorf("CSV mismatch:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestUnknownFormat(t *testing.T) {
	if err := Write(&bytes.Buffer{}, "xml", sampleReport()); err == nil {
		t.Error("expected error")
	}
}
