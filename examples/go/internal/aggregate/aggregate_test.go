package aggregate

import (
	"strings"
	"testing"

	"example.com/logstat/internal/logparse"
)

func mustParse(t *testing.T, lines ...string) []logparse.Entry {
	t.Helper()
	var out []logparse.Entry
	for _, l := range lines {
		e, err := logparse.ParseLine(l)
		if err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		out = append(out, e)
	}
	return out
}

var sample = []string{
	`10.0.0.1 - - [01/Mar/2024:10:00:05 +0000] "GET /users/17 HTTP/1.1" 200 100 "-" "curl/8.1" 0.010`,
	`10.0.0.2 - - [01/Mar/2024:10:00:45 +0000] "GET /users/42/ HTTP/1.1" 200 300 "-" "Mozilla/5.0 Firefox/120.0" 0.030`,
	`10.0.0.1 - - [01/Mar/2024:10:01:10 +0000] "POST /login HTTP/1.1" 401 20 "-" "curl/8.1" 0.005`,
	`10.0.0.3 - - [01/Mar/2024:11:15:00 +0100] "GET /users/17 HTTP/1.1" 503 0 "-" "Googlebot/2.1" 1.200`,
	`10.0.0.3 - - [01/Mar/2024:11:20:00 +0000] "GET /static/app.js HTTP/1.1" 304 - "-" "-"`,
}

func build(t *testing.T, dims string, opts Options) *Aggregator {
	ds, err := ParseDimensions(dims)
	if err != nil {
		t.Fatal(err)
	}
	a := New(ds, opts)
	for _, e := range mustParse(t, sample...) {
		e := e
		a.Add(&e)
	}
	return a
}

func keys(rows []Row) string {
	var k []string
	for _, r := range rows {
		k = append(k, r.Key)
	}
	return strings.Join(k, " ")
}

func TestParseDimensions(t *testing.T) {
	ds, err := ParseDimensions("status, PATH,status,hour")
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 3 || ds[0] != Status || ds[1] != Path || ds[2] != Hour {
		t.Errorf("got %v", ds)
	}
	if _, err := ParseDimensions("status,colour"); err == nil || !strings.Contains(err.Error(), "colour") {
		t.Errorf("expected unknown dimension error, got %v", err)
	}
	if _, err := ParseDimensions(" , "); err == nil {
		t.Error("expected error for empty list")
	}
	if Dimension(99).String() != "dimension(99)" || len(DimensionNames()) != 9 {
		t.Error("dimension names wrong")
	}
}

func TestTotals(t *testing.T) {
	a := build(t, "status", Options{})
	tot := a.Total()
	if tot.Requests != 5 || tot.Bytes != 420 || tot.Status4xx != 1 || tot.Status5xx != 1 || tot.UniqueHosts != 3 || tot.Share != 1000 {
		t.Errorf("total = %+v", tot)
	}
	if tot.Latency == nil || tot.Latency.Samples != 4 || tot.Latency.P50 != 10000 || tot.Latency.Max != 1200000 {
		t.Errorf("latency = %+v", tot.Latency)
	}
	if tot.First.Format("15:04:05") != "10:00:05" || tot.Last.Format("15:04:05") != "11:20:00" {
		t.Errorf("first/last = %v %v", tot.First, tot.Last)
	}
	h := a.Histogram()
	if h.Total() != 4 || h.Counts[2] != 1 || h.Counts[3] != 2 || h.Counts[7] != 1 {
		t.Errorf("histogram = %v", h.Counts)
	}
}

func TestRowsByStatus(t *testing.T) {
	a := build(t, "status,class", Options{})
	rows, omitted := a.Rows(Status, ByRequests, 0)
	if keys(rows) != "200 304 401 503" || omitted != 0 {
		t.Errorf("status rows = %s (%d omitted)", keys(rows), omitted)
	}
	if rows[0].Requests != 2 || rows[0].Share != 400 {
		t.Errorf("200 row = %+v", rows[0])
	}
	rows, _ = a.Rows(Class, ByErrors, 0)
	if keys(rows) != "4xx 5xx 2xx 3xx" {
		t.Errorf("class rows by errors = %s", keys(rows))
	}
	rows, omitted = a.Rows(Status, ByBytes, 2)
	if keys(rows) != "200 401" || omitted != 2 {
		t.Errorf("by bytes = %s (%d omitted)", keys(rows), omitted)
	}
	if rows, _ := a.Rows(Path, ByRequests, 0); rows != nil {
		t.Error("rows for unrequested dimension")
	}
}

func TestPathNormalization(t *testing.T) {
	a := build(t, "path", Options{NormalizePaths: true})
	rows, _ := a.Rows(Path, ByRequests, 0)
	if keys(rows) != "/users/:id /login /static/app.js" {
		t.Errorf("normalized = %s", keys(rows))
	}
	b := build(t, "path", Options{})
	rows, _ = b.Rows(Path, ByP95, 0)
	if keys(rows) != "/users/17 /users/42/ /login /static/app.js" {
		t.Errorf("raw by p95 = %s", keys(rows))
	}
}

func TestTemporalRows(t *testing.T) {
	a := build(t, "minute,hour,day", Options{})
	rows, _ := a.Rows(Hour, ByRequests, 1)
	if keys(rows) != "2024-03-01T10:00Z 2024-03-01T11:00Z" {
		t.Errorf("hours = %s", keys(rows))
	}
	if rows[0].Requests != 4 {
		t.Errorf("10:00 bucket = %d", rows[0].Requests)
	}
	rows, _ = a.Rows(Minute, ByBytes, 0)
	if keys(rows) != "2024-03-01T10:00Z 2024-03-01T10:01Z 2024-03-01T10:15Z 2024-03-01T11:20Z" {
		t.Errorf("minutes = %s", keys(rows))
	}
	rows, _ = a.Rows(Day, ByRequests, 0)
	if keys(rows) != "2024-03-01" || rows[0].UniqueHosts != 3 {
		t.Errorf("days = %s", keys(rows))
	}
}

func TestAgents(t *testing.T) {
	a := build(t, "agent,method,host", Options{})
	rows, _ := a.Rows(Agent, ByRequests, 0)
	if keys(rows) != "curl - bot firefox" {
		t.Errorf("agents = %s", keys(rows))
	}
	cases := map[string]string{
		"Wget/1.21":                  "wget",
		"python-requests/2.31":       "python",
		"Go-http-client/1.1":         "go",
		"Mozilla/5.0 Chrome/1 Edg/1": "edge",
		"Mozilla/5.0 Chrome/120":     "chrome",
		"Mozilla/5.0 Safari/605":     "safari",
		"Lynx/2.8":                   "other",
		"":                           "-",
		"SomeSpider/1.0":             "bot",
	}
	for ua, want := range cases {
		if got := AgentFamily(ua); got != want {
			t.Errorf("AgentFamily(%q) = %q, want %q", ua, got, want)
		}
	}
}

func TestNormalizePath(t *testing.T) {
	cases := map[string]string{
		"/":                          "/",
		"-":                          "-",
		"/a/":                        "/a",
		"/orders/123/items/4":        "/orders/:id/items/:id",
		"/blob/0123456789abcdef0123": "/blob/:hex",
		"/blob/0123456789abcde":      "/blob/0123456789abcde",
		"/u/123e4567-e89b-12d3-a456-426614174000/x": "/u/:uuid/x",
		"/u/123e4567-e89b-12d3-a456-42661417400z":   "/u/123e4567-e89b-12d3-a456-42661417400z",
		"/v1//x": "/v1//x",
	}
	for in, want := range cases {
		if got := NormalizePath(in); got != want {
			t.Errorf("NormalizePath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseSortKey(t *testing.T) {
	for _, n := range []string{"requests", "bytes", "key", "p95", "errors"} {
		k, err := ParseSortKey(n)
		if err != nil || k.String() != n {
			t.Errorf("ParseSortKey(%q) = %v, %v", n, k, err)
		}
	}
	if _, err := ParseSortKey("size"); err == nil {
		t.Error("expected error")
	}
}
