package filter

import (
	"testing"
	"time"

	"example.com/logstat/internal/logparse"
)

func TestParseStatus(t *testing.T) {
	rs, err := ParseStatus("200, 4xx,500-503")
	if err != nil {
		t.Fatal(err)
	}
	want := []StatusRange{{200, 200}, {400, 499}, {500, 503}}
	if len(rs) != len(want) {
		t.Fatalf("got %v", rs)
	}
	for i := range want {
		if rs[i] != want[i] {
			t.Errorf("range %d = %v, want %v", i, rs[i], want[i])
		}
	}
	if rs[1].String() != "4xx" || rs[2].String() != "500-503" || rs[0].String() != "200" {
		t.Errorf("String() = %s %s %s", rs[0], rs[1], rs[2])
	}
	for _, bad := range []string{"", "6xx", "abc", "503-500", "99", "1000", ","} {
		if _, err := ParseStatus(bad); err == nil {
			t.Errorf("ParseStatus(%q) succeeded", bad)
		}
	}
}

func TestParseTime(t *testing.T) {
	cases := map[string]string{
		"2024-01-02":                "2024-01-02T00:00:00Z",
		"2024-01-02T03:04":          "2024-01-02T03:04:00Z",
		"2024-01-02T03:04:05":       "2024-01-02T03:04:05Z",
		"2024-01-02T03:04:05+02:00": "2024-01-02T01:04:05Z",
	}
	for in, want := range cases {
		got, err := ParseTime(in)
		if err != nil || got.Format(time.RFC3339) != want {
			t.Errorf("ParseTime(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	if _, err := ParseTime("yesterday"); err == nil {
		t.Error("expected error")
	}
}

func entry(status int, method, path string, ts string, malformed bool) *logparse.Entry {
	tm, _ := time.Parse(time.RFC3339, ts)
	return &logparse.Entry{Status: status, Method: method, Path: path, Time: tm, Malformed: malformed}
}

func TestMatch(t *testing.T) {
	var f Filter
	if !f.Empty() || f.String() != "none" {
		t.Fatal("zero filter should be empty")
	}
	e := entry(404, "GET", "/api/x", "2024-01-01T10:00:00Z", false)
	if !f.Match(e) {
		t.Fatal("empty filter must match")
	}
	f.Statuses, _ = ParseStatus("4xx")
	f.SetMethods("get, head")
	f.PathPrefix = "/api/"
	f.Since, _ = ParseTime("2024-01-01T10:00")
	f.Until, _ = ParseTime("2024-01-01T11:00")
	f.SkipBad = true
	if !f.Match(e) {
		t.Error("entry should match")
	}
	rejects := []*logparse.Entry{
		entry(500, "GET", "/api/x", "2024-01-01T10:00:00Z", false),
		entry(404, "POST", "/api/x", "2024-01-01T10:00:00Z", false),
		entry(404, "GET", "/static/x", "2024-01-01T10:00:00Z", false),
		entry(404, "GET", "/api/x", "2024-01-01T09:59:59Z", false),
		entry(404, "GET", "/api/x", "2024-01-01T11:00:00Z", false),
		entry(404, "GET", "/api/x", "2024-01-01T10:30:00Z", true),
	}
	for i, r := range rejects {
		if f.Match(r) {
			t.Errorf("reject case %d matched", i)
		}
	}
	want := "status=4xx method=GET,HEAD path=/api/* since=2024-01-01T10:00:00Z until=2024-01-01T11:00:00Z skip-malformed"
	if f.String() != want {
		t.Errorf("String() = %q", f.String())
	}
}
