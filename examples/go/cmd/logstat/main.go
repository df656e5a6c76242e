// Command logstat summarises web server access logs (Common and Combined
// Log Format, optionally with a trailing request duration in seconds).
//
// Usage:
//
//	logstat [flags] [file ...]
//
// With no files, or a file named "-", logstat reads standard input. Files
// compressed with gzip are detected and decompressed transparently.
package main

import (
	"bufio"
	"compress/gzip"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"example.com/logstat/internal/aggregate"
	"example.com/logstat/internal/filter"
	"example.com/logstat/internal/logparse"
	"example.com/logstat/internal/report"
)

// version is the program version printed by --version.
const version = "1.2.0"

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

type config struct {
	dims      []aggregate.Dimension
	sortKey   aggregate.SortKey
	format    string
	top       int
	normalize bool
	histogram bool
	showErrs  bool
	filter    filter.Filter
	files     []string
}

// errUsage marks errors caused by bad command line arguments.
var errUsage = errors.New("usage error")

// parseArgs parses the command line. done is true when the program should
// exit successfully without processing input (-help, -version).
func parseArgs(args []string, stdout, stderr io.Writer) (cfg *config, done bool, err error) {
	fs := flag.NewFlagSet("logstat", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: logstat [flags] [file ...]\n\n")
		fmt.Fprintf(stderr, "Summarise access logs in Common/Combined Log Format.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	by := fs.String("by", "status,path,hour", "comma separated dimensions: "+strings.Join(aggregate.DimensionNames(), ", "))
	sortBy := fs.String("sort", "requests", "row order for non-time dimensions: requests, bytes, key, p95, errors")
	format := fs.String("format", "table", "output format: table, json, csv")
	top := fs.Int("top", 10, "rows per non-time dimension (0 = all)")
	normalize := fs.Bool("normalize", true, "collapse numeric/UUID/hex path segments")
	hist := fs.Bool("hist", true, "include the latency histogram")
	showErrs := fs.Bool("errors", false, "report unparseable lines on stderr")
	status := fs.String("status", "", "only count these statuses, e.g. 200,4xx,500-503")
	method := fs.String("method", "", "only count these methods, e.g. GET,HEAD")
	path := fs.String("path", "", "only count request paths with this prefix")
	since := fs.String("since", "", "only count requests at or after this time (RFC 3339 or YYYY-MM-DD)")
	until := fs.String("until", "", "only count requests before this time")
	skipBad := fs.Bool("skip-malformed", false, "ignore requests whose request line is malformed")
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, true, nil
		}
		return nil, false, errUsage
	}
	if *showVersion {
		_, err := fmt.Fprintf(stdout, "logstat %s\n", version)
		return nil, true, err
	}
	cfg = &config{format: *format, top: *top, normalize: *normalize, histogram: *hist, showErrs: *showErrs}
	if cfg.dims, err = aggregate.ParseDimensions(*by); err != nil {
		return nil, false, fmt.Errorf("%w: -by: %v", errUsage, err)
	}
	if cfg.sortKey, err = aggregate.ParseSortKey(*sortBy); err != nil {
		return nil, false, fmt.Errorf("%w: -sort: %v", errUsage, err)
	}
	switch cfg.format {
	case "table", "json", "csv":
	default:
		return nil, false, fmt.Errorf("%w: -format: unknown format %q", errUsage, cfg.format)
	}
	if cfg.top < 0 {
		return nil, false, fmt.Errorf("%w: -top must not be negative", errUsage)
	}
	if *status != "" {
		if cfg.filter.Statuses, err = filter.ParseStatus(*status); err != nil {
			return nil, false, fmt.Errorf("%w: -status: %v", errUsage, err)
		}
	}
	if *method != "" {
		cfg.filter.SetMethods(*method)
	}
	cfg.filter.PathPrefix = *path
	if *since != "" {
		if cfg.filter.Since, err = filter.ParseTime(*since); err != nil {
			return nil, false, fmt.Errorf("%w: -since: %v", errUsage, err)
		}
	}
	if *until != "" {
		if cfg.filter.Until, err = filter.ParseTime(*until); err != nil {
			return nil, false, fmt.Errorf("%w: -until: %v", errUsage, err)
		}
	}
	cfg.filter.SkipBad = *skipBad
	cfg.files = fs.Args()
	if len(cfg.files) == 0 {
		cfg.files = []string{"-"}
	}
	return cfg, false, nil
}

// openInput opens name ("-" is stdin) and transparently gunzips it.
func openInput(name string, stdin io.Reader) (io.Reader, func() error, error) {
	var r io.Reader = stdin
	closer := func() error { return nil }
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, nil, err
		}
		r, closer = f, f.Close
	}
	br := bufio.NewReader(r)
	magic, _ := br.Peek(2)
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			closer()
			return nil, nil, fmt.Errorf("%s: %v", name, err)
		}
		return zr, func() error { zr.Close(); return closer() }, nil
	}
	return br, closer, nil
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cfg, done, err := parseArgs(args, stdout, stderr)
	if done {
		if err != nil {
			fmt.Fprintf(stderr, "logstat: %v\n", err)
			return 1
		}
		return 0
	}
	if err != nil {
		if err != errUsage {
			fmt.Fprintf(stderr, "logstat: %v\n", err)
		}
		return 2
	}

	agg := aggregate.New(cfg.dims, aggregate.Options{NormalizePaths: cfg.normalize})
	rep := &report.Report{Sources: cfg.files, Filter: cfg.filter.String()}
	for _, name := range cfg.files {
		in, closeFn, err := openInput(name, stdin)
		if err != nil {
			fmt.Fprintf(stderr, "logstat: %v\n", err)
			return 1
		}
		rd := logparse.NewReader(in)
		for {
			e, err := rd.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				closeFn()
				fmt.Fprintf(stderr, "logstat: %s: %v\n", name, err)
				return 1
			}
			if cfg.filter.Match(&e) {
				rep.Matched++
				agg.Add(&e)
			}
		}
		closeFn()
		rep.Lines += int64(rd.Lines)
		rep.Invalid += int64(rd.Invalid)
		if cfg.showErrs {
			for _, pe := range rd.Errors {
				fmt.Fprintf(stderr, "%s: %v\n", name, pe)
			}
			if rd.Invalid > len(rd.Errors) {
				fmt.Fprintf(stderr, "%s: %d more invalid lines\n", name, rd.Invalid-len(rd.Errors))
			}
		}
	}

	rep.Total = agg.Total()
	for _, d := range agg.Dimensions() {
		rows, omitted := agg.Rows(d, cfg.sortKey, cfg.top)
		rep.Sections = append(rep.Sections, report.Section{Dimension: d.String(), Rows: rows, Omitted: omitted})
	}
	if cfg.histogram {
		rep.Histogram = agg.Histogram()
	}
	w := bufio.NewWriter(stdout)
	if err := report.Write(w, cfg.format, rep); err != nil {
		fmt.Fprintf(stderr, "logstat: %v\n", err)
		return 1
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintf(stderr, "logstat: %v\n", err)
		return 1
	}
	return 0
}
