// Package filter selects log entries by status code, method, path prefix
// and time range.
package filter

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"example.com/logstat/internal/logparse"
)

// StatusRange is an inclusive range of HTTP status codes.
type StatusRange struct {
	Lo, Hi int
}

func (r StatusRange) String() string {
	if r.Lo == r.Hi {
		return strconv.Itoa(r.Lo)
	}
	if r.Lo%100 == 0 && r.Hi == r.Lo+99 {
		return fmt.Sprintf("%dxx", r.Lo/100)
	}
	return fmt.Sprintf("%d-%d", r.Lo, r.Hi)
}

// ParseStatus parses a comma separated list of status specs: exact codes
// ("404"), classes ("5xx") and inclusive ranges ("400-403").
func ParseStatus(spec string) ([]StatusRange, error) {
	var out []StatusRange
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(strings.ToLower(part))
		if part == "" {
			continue
		}
		var r StatusRange
		switch {
		case len(part) == 3 && strings.HasSuffix(part, "xx"):
			c := part[0]
			if c < '1' || c > '5' {
				return nil, fmt.Errorf("invalid status class %q", part)
			}
			r.Lo = int(c-'0') * 100
			r.Hi = r.Lo + 99
		case strings.Contains(part, "-"):
			bounds := strings.SplitN(part, "-", 2)
			lo, err1 := parseCode(bounds[0])
			hi, err2 := parseCode(bounds[1])
			if err1 != nil || err2 != nil || lo > hi {
				return nil, fmt.Errorf("invalid status range %q", part)
			}
			r.Lo, r.Hi = lo, hi
		default:
			c, err := parseCode(part)
			if err != nil {
				return nil, err
			}
			r.Lo, r.Hi = c, c
		}
		out = append(out, r)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("empty status filter")
	}
	return out, nil
}

func parseCode(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 100 || n > 999 {
		return 0, fmt.Errorf("invalid status code %q", s)
	}
	return n, nil
}

// ParseTime accepts RFC 3339 timestamps, "2006-01-02T15:04" and
// "2006-01-02"; values without a zone are taken as UTC.
func ParseTime(s string) (time.Time, error) {
	layouts := []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"}
	for _, l := range layouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("invalid time %q (want RFC 3339 or YYYY-MM-DD[THH:MM])", s)
}

// Filter is a conjunction of conditions; zero-valued fields match all.
type Filter struct {
	Statuses   []StatusRange
	Methods    []string // upper case
	PathPrefix string
	Since      time.Time // inclusive
	Until      time.Time // exclusive
	SkipBad    bool      // drop entries with a malformed request line
}

// SetMethods parses a comma separated method list.
func (f *Filter) SetMethods(spec string) {
	f.Methods = nil
	for _, m := range strings.Split(spec, ",") {
		m = strings.ToUpper(strings.TrimSpace(m))
		if m != "" {
			f.Methods = append(f.Methods, m)
		}
	}
	sort.Strings(f.Methods)
}

// Match reports whether e passes the filter.
func (f *Filter) Match(e *logparse.Entry) bool {
	if f.SkipBad && e.Malformed {
		return false
	}
	if len(f.Statuses) > 0 {
		ok := false
		for _, r := range f.Statuses {
			if e.Status >= r.Lo && e.Status <= r.Hi {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	if len(f.Methods) > 0 {
		i := sort.SearchStrings(f.Methods, e.Method)
		if i == len(f.Methods) || f.Methods[i] != e.Method {
			return false
		}
	}
	if f.PathPrefix != "" && !strings.HasPrefix(e.Path, f.PathPrefix) {
		return false
	}
	if !f.Since.IsZero() && e.Time.Before(f.Since) {
		return false
	}
	if !f.Until.IsZero() && !e.Time.Before(f.Until) {
		return false
	}
	return true
}

// Empty reports whether the filter matches everything.
func (f *Filter) Empty() bool {
	return len(f.Statuses) == 0 && len(f.Methods) == 0 && f.PathPrefix == "" &&
		f.Since.IsZero() && f.Until.IsZero() && !f.SkipBad
}

// String describes the filter in a stable, human readable way.
func (f *Filter) String() string {
	if f.Empty() {
		return "none"
	}
	var parts []string
	if len(f.Statuses) > 0 {
		s := make([]string, len(f.Statuses))
		for i, r := range f.Statuses {
			s[i] = r.String()
		}
		parts = append(parts, "status="+strings.Join(s, ","))
	}
	if len(f.Methods) > 0 {
		parts = append(parts, "method="+strings.Join(f.Methods, ","))
	}
	if f.PathPrefix != "" {
		parts = append(parts, "path="+f.PathPrefix+"*")
	}
	if !f.Since.IsZero() {
		parts = append(parts, "since="+f.Since.Format(time.RFC3339))
	}
	if !f.Until.IsZero() {
		parts = append(parts, "until="+f.Until.Format(time.RFC3339))
	}
	if f.SkipBad {
		parts = append(parts, "skip-malformed")
	}
	return strings.Join(parts, " ")
}
