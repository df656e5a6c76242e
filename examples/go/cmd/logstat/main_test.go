package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCapture(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), code
}

// TestGolden runs the program on the sample log exactly as check.sh does.
func TestGolden(t *testing.T) {
	want, err := os.ReadFile("../../testdata/expected.txt")
	if err != nil {
		t.Fatal(err)
	}
	// Run from the module root so the source name printed in the report
	// matches the one check.sh passes.
	if err := os.Chdir("../.."); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir("cmd/logstat")
	out, stderr, code := runCapture(t, "", "testdata/sample.log")
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if out != string(want) {
		t.Errorf("output differs from testdata/expected.txt:\n%s", out)
	}
}

func TestVersion(t *testing.T) {
	out, _, code := runCapture(t, "", "--version")
	if code != 0 || out != "logstat "+version+"\n" {
		t.Errorf("version output %q (exit %d)", out, code)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"-by", "colour"}, {"-sort", "size"}, {"-format", "xml"}, {"-top", "-1"},
		{"-status", "6xx"}, {"-since", "soon"}, {"-until", "later"}, {"-bogus"},
	} {
		_, stderr, code := runCapture(t, "", args...)
		if code != 2 || stderr == "" {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
		}
	}
	if _, _, code := runCapture(t, "", "-h"); code != 0 {
		t.Errorf("-h exit %d", code)
	}
}

const stdinLog = `10.0.0.1 - - [01/Mar/2024:10:00:05 +0000] "GET /a/1 HTTP/1.1" 200 100 "-" "curl/8" 0.002
10.0.0.2 - - [01/Mar/2024:10:00:06 +0000] "GET /a/2 HTTP/1.1" 500 10 "-" "curl/8" 0.300
not a log line
10.0.0.2 - - [01/Mar/2024:10:00:07 +0000] "POST /b HTTP/1.1" 201 5 "-" "curl/8" 0.020
`

func TestStdinCSVAndFilters(t *testing.T) {
	out, stderr, code := runCapture(t, stdinLog, "-format", "csv", "-by", "path", "-method", "get", "-errors")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	want := "dimension,key,requests,share_pct,bytes,status_4xx,status_5xx,unique_hosts,latency_samples,p50_us,p90_us,p95_us,p99_us,max_us,mean_us\n" +
		"total,total,2,100.0,110,0,1,2,2,2000,300000,300000,300000,300000,151000\n" +
		"path,/a/:id,2,100.0,110,0,1,2,2,2000,300000,300000,300000,300000,151000\n"
	if out != want {
		t.Errorf("csv:\n%s", out)
	}
	if !strings.Contains(stderr, "-: line 3, column 11: expected '['") {
		t.Errorf("stderr = %q", stderr)
	}
}

func TestJSONAndGzip(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "access.log.gz")
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(stdinLog))
	zw.Close()
	if err := os.WriteFile(name, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := runCapture(t, "", "-format", "json", "-by", "status,minute", "-status", "2xx", "-normalize=false", name)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rep struct {
		Lines, Invalid, Matched int
		Filter                  string
		Sections                []struct {
			Dimension string
			Rows      []struct {
				Key      string
				Requests int
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("bad json: %v\n%s", err, out)
	}
	if rep.Lines != 4 || rep.Invalid != 1 || rep.Matched != 2 || rep.Filter != "status=2xx" {
		t.Errorf("report header = %+v", rep)
	}
	if len(rep.Sections) != 2 || rep.Sections[0].Rows[0].Key != "200" || rep.Sections[1].Rows[0].Key != "2024-03-01T10:00Z" {
		t.Errorf("sections = %+v", rep.Sections)
	}
}

func TestMissingFile(t *testing.T) {
	_, stderr, code := runCapture(t, "", filepath.Join(t.TempDir(), "nope.log"))
	if code != 1 || !strings.Contains(stderr, "nope.log") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}
