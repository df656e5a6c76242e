package logparse

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestParseCombinedLine(t *testing.T) {
	line := `203.0.113.7 - alice [10/Oct/2023:13:55:36 +0200] "GET /api/items?id=4&x=\"y\" HTTP/1.1" 200 2326 "https://example.org/" "curl/8.0 \"beta\"" 0.042`
	e, err := ParseLine(line)
	if err != nil {
		t.Fatalf("ParseLine: %v", err)
	}
	want := time.Date(2023, time.October, 10, 11, 55, 36, 0, time.UTC)
	if !e.Time.Equal(want) || e.Time.Location() != time.UTC {
		t.Errorf("time = %v, want %v", e.Time, want)
	}
	checks := []struct{ name, got, want string }{
		{"remote", e.RemoteAddr, "203.0.113.7"},
		{"ident", e.Ident, "-"},
		{"user", e.User, "alice"},
		{"method", e.Method, "GET"},
		{"path", e.Path, "/api/items"},
		{"query", e.Query, `id=4&x="y"`},
		{"proto", e.Protocol, "HTTP/1.1"},
		{"referer", e.Referer, "https://example.org/"},
		{"ua", e.UserAgent, `curl/8.0 "beta"`},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if e.Status != 200 || e.Bytes != 2326 || e.Duration != 42000 || e.Malformed {
		t.Errorf("status/bytes/duration/malformed = %d/%d/%d/%v", e.Status, e.Bytes, e.Duration, e.Malformed)
	}
}

func TestParseCommonLogFormat(t *testing.T) {
	e, err := ParseLine(`127.0.0.1 user-identifier frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 -`)
	if err != nil {
		t.Fatal(err)
	}
	if e.Bytes != -1 || e.Duration != -1 || e.Referer != "" || e.Ident != "user-identifier" {
		t.Errorf("unexpected entry %+v", e)
	}
	if got := e.Time.Format(time.RFC3339); got != "2000-10-10T20:55:36Z" {
		t.Errorf("time = %s", got)
	}
}

func TestMalformedRequestIsKept(t *testing.T) {
	e, err := ParseLine(`198.51.100.2 - - [01/Jan/2024:00:00:00 +0000] "\x16\x03\x01\x00" 400 157 "-" "-"`)
	if err != nil {
		t.Fatal(err)
	}
	if !e.Malformed || e.Method != "-" || e.Path != "-" || e.Status != 400 {
		t.Errorf("unexpected entry %+v", e)
	}
}

func TestParseErrors(t *testing.T) {
	const prefix = `1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" `
	// at is the text where the error must be reported; "" means end of line.
	cases := []struct {
		line, at, message string
	}{
		{``, "", "expected remote address"},
		{`1.2.3.4 - -`, "", "expected '[' starting timestamp"},
		{`1.2.3.4 - - [10/Oct/2000:13:55:36 -0700`, "[", "unterminated timestamp"},
		{`1.2.3.4 - - [10/Foo/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 1`, "10/", "malformed timestamp"},
		{`1.2.3.4 - - [31/Feb/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 1`, "31/", "invalid date"},
		{`1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1 200 1`, `"`, "unterminated request line"},
		{prefix + `2x0 1`, "2x0", "invalid status"},
		{prefix + `200 -5`, "-5", "invalid response size"},
		{prefix + `200 5 "-" "ua" abc`, "abc", "malformed duration"},
		{prefix + `200 5 "-" "ua" 1.0 x`, "x", "unexpected trailing data"},
		{prefix + `200 5 "-"`, "", "expected '\"' starting user agent"},
	}
	for _, c := range cases {
		_, err := ParseLine(c.line)
		if err == nil {
			t.Errorf("%q: expected error", c.line)
			continue
		}
		pe, ok := err.(*ParseError)
		if !ok {
			t.Errorf("%q: error %T is not *ParseError", c.line, err)
			continue
		}
		col := len(c.line) + 1
		if c.at != "" {
			col = strings.Index(c.line, c.at) + 1
		}
		if !strings.Contains(pe.Msg, c.message) || pe.Col != col {
			t.Errorf("%q: got col %d %q, want col %d containing %q", c.line, pe.Col, pe.Msg, col, c.message)
		}
	}
}

func TestParseDuration(t *testing.T) {
	cases := map[string]int64{
		"0.042":      42000,
		"1":          1000000,
		"1.5":        1500000,
		".25":        250000,
		"0.0000019":  1,
		"12.345678":  12345678,
		"-":          -1,
		"3.":         3000000,
		"0.000000":   0,
		"100.000001": 100000001,
	}
	for in, want := range cases {
		got, err := ParseDuration(in)
		if err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{".", "1.2.3", "x", "1e3", "-1", "0.12345a"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) succeeded", bad)
		}
	}
}

func TestReaderSkipsAndCounts(t *testing.T) {
	input := strings.Join([]string{
		"# comment",
		`10.0.0.1 - - [01/Jan/2024:00:00:01 +0000] "GET / HTTP/1.1" 200 10`,
		"",
		"garbage line",
		`10.0.0.2 - - [01/Jan/2024:00:00:02 +0000] "POST /x HTTP/1.1" 201 0`,
		`10.0.0.3 - - [01/Jan/2024:00:00:03 +0000] "GET / HTTP/1.1" 99 0`,
	}, "\n")
	r := NewReader(strings.NewReader(input))
	var got []string
	for {
		e, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, e.RemoteAddr)
	}
	if strings.Join(got, ",") != "10.0.0.1,10.0.0.2" {
		t.Errorf("entries = %v", got)
	}
	if r.Lines != 4 || r.Invalid != 2 || len(r.Errors) != 2 {
		t.Fatalf("lines=%d invalid=%d errors=%d", r.Lines, r.Invalid, len(r.Errors))
	}
	if r.Errors[0].Line != 4 || r.Errors[1].Line != 6 {
		t.Errorf("error lines = %d, %d", r.Errors[0].Line, r.Errors[1].Line)
	}
	if !strings.HasPrefix(r.Errors[0].Error(), "line 4, column ") {
		t.Errorf("error text = %q", r.Errors[0].Error())
	}
}
