// Package logparse parses web server access logs in the Common Log Format
// (CLF) and the Combined Log Format, optionally followed by a request
// duration field as written by nginx's $request_time.
//
// A combined line looks like:
//
//	203.0.113.7 - alice [10/Oct/2023:13:55:36 +0200] "GET /a?b=1 HTTP/1.1" 200 2326 "https://ref/" "curl/8.0" 0.042
//
// The parser is hand written (no regular expressions) so that it is fast and
// reports the column at which a malformed line went wrong.
package logparse

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Entry is one parsed log line.
type Entry struct {
	RemoteAddr string
	Ident      string
	User       string
	Time       time.Time // always in UTC
	Method     string
	Path       string // request path without the query string
	Query      string // raw query string without the leading '?'
	Protocol   string
	Malformed  bool // the request line could not be split into method, target and protocol
	Status     int
	Bytes      int64 // -1 when the log recorded "-"
	Referer    string
	UserAgent  string
	// Duration is the request duration in microseconds, or -1 when the
	// line carries no duration field.
	Duration int64
}

// ParseError describes why a line could not be parsed.
type ParseError struct {
	Line int // 1-based line number, 0 when unknown
	Col  int // 1-based byte column
	Msg  string
}

func (e *ParseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Col, e.Msg)
	}
	return fmt.Sprintf("column %d: %s", e.Col, e.Msg)
}

// scanner walks over a single line.
type scanner struct {
	s     string
	pos   int
	start int // start offset of the most recently scanned field
}

// errorf reports an error at the current position.
func (sc *scanner) errorf(format string, args ...interface{}) error {
	return &ParseError{Col: sc.pos + 1, Msg: fmt.Sprintf(format, args...)}
}

// fieldErrorf reports an error at the start of the last scanned field.
func (sc *scanner) fieldErrorf(format string, args ...interface{}) error {
	return &ParseError{Col: sc.start + 1, Msg: fmt.Sprintf(format, args...)}
}

func (sc *scanner) skipSpaces() {
	for sc.pos < len(sc.s) && (sc.s[sc.pos] == ' ' || sc.s[sc.pos] == '\t') {
		sc.pos++
	}
}

func (sc *scanner) eof() bool {
	sc.skipSpaces()
	return sc.pos >= len(sc.s)
}

// word returns the next run of non-blank bytes.
func (sc *scanner) word(what string) (string, error) {
	sc.skipSpaces()
	start := sc.pos
	sc.start = start
	for sc.pos < len(sc.s) && sc.s[sc.pos] != ' ' && sc.s[sc.pos] != '\t' {
		sc.pos++
	}
	if start == sc.pos {
		return "", sc.errorf("expected %s, found end of line", what)
	}
	return sc.s[start:sc.pos], nil
}

// bracketed returns the contents of a [...] field.
func (sc *scanner) bracketed(what string) (string, error) {
	sc.skipSpaces()
	sc.start = sc.pos
	if sc.pos >= len(sc.s) || sc.s[sc.pos] != '[' {
		return "", sc.errorf("expected '[' starting %s", what)
	}
	end := strings.IndexByte(sc.s[sc.pos:], ']')
	if end < 0 {
		return "", sc.fieldErrorf("unterminated %s", what)
	}
	v := sc.s[sc.pos+1 : sc.pos+end]
	sc.pos += end + 1
	return v, nil
}

// quoted returns the unescaped contents of a "..." field. The escapes
// understood are the ones nginx and Apache emit: \" \\ and \xHH.
func (sc *scanner) quoted(what string) (string, error) {
	sc.skipSpaces()
	sc.start = sc.pos
	if sc.pos >= len(sc.s) || sc.s[sc.pos] != '"' {
		return "", sc.errorf("expected '\"' starting %s", what)
	}
	sc.pos++
	var b strings.Builder
	for sc.pos < len(sc.s) {
		c := sc.s[sc.pos]
		switch {
		case c == '"':
			sc.pos++
			return b.String(), nil
		case c == '\\' && sc.pos+1 < len(sc.s):
			n := sc.s[sc.pos+1]
			switch n {
			case '"', '\\':
				b.WriteByte(n)
				sc.pos += 2
			case 'x':
				if sc.pos+3 < len(sc.s) {
					if v, err := strconv.ParseUint(sc.s[sc.pos+2:sc.pos+4], 16, 8); err == nil {
						b.WriteByte(byte(v))
						sc.pos += 4
						continue
					}
				}
				b.WriteByte(c)
				sc.pos++
			default:
				b.WriteByte(c)
				sc.pos++
			}
		default:
			b.WriteByte(c)
			sc.pos++
		}
	}
	return "", sc.fieldErrorf("unterminated %s", what)
}

var months = map[string]time.Month{
	"Jan": time.January, "Feb": time.February, "Mar": time.March,
	"Apr": time.April, "May": time.May, "Jun": time.June,
	"Jul": time.July, "Aug": time.August, "Sep": time.September,
	"Oct": time.October, "Nov": time.November, "Dec": time.December,
}

func atoiFixed(s string) (int, bool) {
	if s == "" {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// ParseTime parses a CLF timestamp such as "10/Oct/2000:13:55:36 -0700"
// and returns it in UTC.
func ParseTime(s string) (time.Time, error) {
	// 0         1         2
	// 0123456789012345678901234567
	// 10/Oct/2000:13:55:36 -0700
	if len(s) != 26 || s[2] != '/' || s[6] != '/' || s[11] != ':' ||
		s[14] != ':' || s[17] != ':' || s[20] != ' ' {
		return time.Time{}, fmt.Errorf("malformed timestamp %q", s)
	}
	day, ok1 := atoiFixed(s[0:2])
	mon, ok2 := months[s[3:6]]
	year, ok3 := atoiFixed(s[7:11])
	hh, ok4 := atoiFixed(s[12:14])
	mm, ok5 := atoiFixed(s[15:17])
	ss, ok6 := atoiFixed(s[18:20])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) {
		return time.Time{}, fmt.Errorf("malformed timestamp %q", s)
	}
	if day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60 {
		return time.Time{}, fmt.Errorf("timestamp out of range %q", s)
	}
	sign := 0
	switch s[21] {
	case '+':
		sign = 1
	case '-':
		sign = -1
	default:
		return time.Time{}, fmt.Errorf("malformed zone offset in %q", s)
	}
	zh, ok7 := atoiFixed(s[22:24])
	zm, ok8 := atoiFixed(s[24:26])
	if !ok7 || !ok8 || zm > 59 {
		return time.Time{}, fmt.Errorf("malformed zone offset in %q", s)
	}
	offset := sign * (zh*3600 + zm*60)
	t := time.Date(year, mon, day, hh, mm, ss, 0, time.FixedZone("", offset))
	if t.Day() != day {
		return time.Time{}, fmt.Errorf("invalid date %q", s)
	}
	return t.UTC(), nil
}

// ParseDuration parses a request duration given in seconds with an
// optional fraction ("0.042", "12", "1.5") into whole microseconds without
// going through floating point, so results are identical on every
// platform. Digits beyond microsecond precision are truncated.
func ParseDuration(s string) (int64, error) {
	if s == "" || s == "-" {
		return -1, nil
	}
	intPart, frac := s, ""
	if i := strings.IndexByte(s, '.'); i >= 0 {
		intPart, frac = s[:i], s[i+1:]
	}
	if intPart == "" && frac == "" {
		return 0, fmt.Errorf("malformed duration %q", s)
	}
	var secs int64
	for i := 0; i < len(intPart); i++ {
		c := intPart[i]
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("malformed duration %q", s)
		}
		secs = secs*10 + int64(c-'0')
		if secs > 1<<40 {
			return 0, fmt.Errorf("duration out of range %q", s)
		}
	}
	var micros int64
	for i := 0; i < 6; i++ {
		micros *= 10
		if i < len(frac) {
			c := frac[i]
			if c < '0' || c > '9' {
				return 0, fmt.Errorf("malformed duration %q", s)
			}
			micros += int64(c - '0')
		}
	}
	for i := 6; i < len(frac); i++ {
		if frac[i] < '0' || frac[i] > '9' {
			return 0, fmt.Errorf("malformed duration %q", s)
		}
	}
	return secs*1000000 + micros, nil
}

// splitRequest splits `GET /x?y HTTP/1.1` into its parts.
func splitRequest(e *Entry, req string) {
	parts := strings.Split(req, " ")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" {
		e.Malformed = true
		e.Method = "-"
		e.Path = "-"
		return
	}
	for i := 0; i < len(parts[0]); i++ {
		c := parts[0][i]
		if c < 'A' || c > 'Z' {
			e.Malformed = true
			e.Method = "-"
			e.Path = "-"
			return
		}
	}
	e.Method = parts[0]
	target := parts[1]
	if i := strings.IndexByte(target, '?'); i >= 0 {
		e.Path, e.Query = target[:i], target[i+1:]
	} else {
		e.Path = target
	}
	e.Protocol = parts[2]
}

// ParseLine parses a single CLF or combined log line.
func ParseLine(line string) (Entry, error) {
	sc := &scanner{s: strings.TrimRight(line, "\r\n")}
	var e Entry
	var err error
	e.Duration = -1
	if e.RemoteAddr, err = sc.word("remote address"); err != nil {
		return e, err
	}
	if e.Ident, err = sc.word("ident"); err != nil {
		return e, err
	}
	if e.User, err = sc.word("user"); err != nil {
		return e, err
	}
	ts, err := sc.bracketed("timestamp")
	if err != nil {
		return e, err
	}
	if e.Time, err = ParseTime(ts); err != nil {
		return e, &ParseError{Col: sc.start + 2, Msg: err.Error()}
	}
	req, err := sc.quoted("request line")
	if err != nil {
		return e, err
	}
	splitRequest(&e, req)
	status, err := sc.word("status")
	if err != nil {
		return e, err
	}
	code, ok := atoiFixed(status)
	if !ok || len(status) != 3 || code < 100 {
		return e, sc.fieldErrorf("invalid status %q", status)
	}
	e.Status = code
	size, err := sc.word("response size")
	if err != nil {
		return e, err
	}
	if size == "-" {
		e.Bytes = -1
	} else {
		n, perr := strconv.ParseInt(size, 10, 64)
		if perr != nil || n < 0 {
			return e, sc.fieldErrorf("invalid response size %q", size)
		}
		e.Bytes = n
	}
	if sc.eof() {
		return e, nil // Common Log Format
	}
	if e.Referer, err = sc.quoted("referer"); err != nil {
		return e, err
	}
	if e.UserAgent, err = sc.quoted("user agent"); err != nil {
		return e, err
	}
	if sc.eof() {
		return e, nil
	}
	dur, err := sc.word("duration")
	if err != nil {
		return e, err
	}
	if e.Duration, err = ParseDuration(dur); err != nil {
		return e, sc.fieldErrorf("%v", err)
	}
	if !sc.eof() {
		return e, sc.errorf("unexpected trailing data")
	}
	return e, nil
}

// Reader reads entries from a stream, skipping blank lines and '#'
// comments, and keeps statistics about lines that failed to parse.
type Reader struct {
	sc        *bufio.Scanner
	line      int
	Lines     int           // lines read, excluding blank lines and comments
	Invalid   int           // lines that failed to parse
	Errors    []*ParseError // the first MaxErrors parse errors
	MaxErrors int
}

// NewReader returns a Reader that keeps up to 20 errors.
func NewReader(r io.Reader) *Reader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	return &Reader{sc: sc, MaxErrors: 20}
}

// Next returns the next valid entry. It returns io.EOF at the end of the
// input; any other error is an I/O error. Unparseable lines are counted
// and skipped.
func (r *Reader) Next() (Entry, error) {
	for r.sc.Scan() {
		r.line++
		text := r.sc.Text()
		trimmed := strings.TrimSpace(text)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		r.Lines++
		e, err := ParseLine(text)
		if err != nil {
			r.Invalid++
			if pe, ok := err.(*ParseError); ok && len(r.Errors) < r.MaxErrors {
				pe.Line = r.line
				r.Errors = append(r.Errors, pe)
			}
			continue
		}
		return e, nil
	}
	if err := r.sc.Err(); err != nil {
		return Entry{}, err
	}
	return Entry{}, io.EOF
}
