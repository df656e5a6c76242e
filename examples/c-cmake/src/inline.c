/* inline.c - inline Markdown: emphasis, code spans, links, images,
 * autolinks, escapes, entities and line breaks. */
#include "md.h"

#include <string.h>

#define MAX_NESTING 32
#define NOT_FOUND ((size_t)-1)
/* Bounds on forward searches keep pathological input (thousands of
 * unmatched brackets or angle brackets) from taking quadratic time. */
#define MAX_LINK_TEXT 16384
#define MAX_AUTOLINK 2048

typedef struct {
    md_buf *out;
    int plain; /* text only: no tags, but still HTML-escaped */
    int depth;
} ictx;

static void render(ictx *c, const char *s, size_t n);

static int is_space(char ch)
{
    return ch == ' ' || ch == '\n';
}

static int is_alnum(char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static int is_punct(char ch)
{
    return ch != '\0' && strchr("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", ch) != NULL;
}

void md_escape_html(md_buf *out, const char *s, size_t len)
{
    size_t i, run = 0;

    for (i = 0; i < len; i++) {
        const char *rep;
        switch (s[i]) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        default: continue;
        }
        md_buf_put(out, s + run, i - run);
        md_buf_puts(out, rep);
        run = i + 1;
    }
    md_buf_put(out, s + run, len - run);
}

static int has_prefix_ci(const char *s, size_t n, const char *prefix)
{
    size_t i, k = strlen(prefix);

    if (n < k)
        return 0;
    for (i = 0; i < k; i++) {
        char ch = s[i];
        if (ch >= 'A' && ch <= 'Z')
            ch = (char)(ch - 'A' + 'a');
        if (ch != prefix[i])
            return 0;
    }
    return 1;
}

void md_escape_url(md_buf *out, const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t i;

    if (has_prefix_ci(s, len, "javascript:") || has_prefix_ci(s, len, "vbscript:") ||
        (has_prefix_ci(s, len, "data:") && !has_prefix_ci(s, len, "data:image/"))) {
        md_buf_putc(out, '#');
        return;
    }
    for (i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '&') {
            md_buf_puts(out, "&amp;");
        } else if (is_alnum((char)ch) || strchr("-._~:/?#[]@!$'()*+,;=%", ch)) {
            md_buf_putc(out, (char)ch);
        } else {
            md_buf_putc(out, '%');
            md_buf_putc(out, hex[ch >> 4]);
            md_buf_putc(out, hex[ch & 15]);
        }
    }
}

/* Length of an entity or numeric character reference at s, or 0. */
static size_t entity_len(const char *s, size_t n)
{
    size_t i = 1, start;

    if (n < 3 || s[0] != '&')
        return 0;
    if (s[1] == '#') {
        int hexa = n > 2 && (s[2] == 'x' || s[2] == 'X');
        i = hexa ? 3 : 2;
        start = i;
        while (i < n && i - start < (hexa ? 6u : 7u) &&
               ((s[i] >= '0' && s[i] <= '9') ||
                (hexa && ((s[i] >= 'a' && s[i] <= 'f') || (s[i] >= 'A' && s[i] <= 'F')))))
            i++;
        if (i == start)
            return 0;
    } else {
        start = i;
        while (i < n && i - start < 32 && is_alnum(s[i]))
            i++;
        if (i == start || !((s[start] >= 'a' && s[start] <= 'z') || (s[start] >= 'A' && s[start] <= 'Z')))
            return 0;
    }
    return i < n && s[i] == ';' ? i + 1 : 0;
}

static size_t run_length(const char *s, size_t n, size_t i)
{
    size_t k = 0;

    while (i + k < n && s[i + k] == s[i])
        k++;
    return k;
}

/* Finds the backtick run closing a code span opened by k backticks that
 * end just before position i. */
static size_t code_span_end(const char *s, size_t n, size_t i, size_t k)
{
    while (i < n) {
        if (s[i] == '`') {
            size_t r = run_length(s, n, i);
            if (r == k)
                return i;
            i += r;
        } else {
            i++;
        }
    }
    return NOT_FOUND;
}

/* Advances past an escape or code span at i; returns the new position, or
 * i when there is nothing to skip. */
static size_t skip_opaque(const char *s, size_t n, size_t i)
{
    if (s[i] == '\\' && i + 1 < n)
        return i + 2;
    if (s[i] == '`') {
        size_t k = run_length(s, n, i), e = code_span_end(s, n, i + k, k);
        return e == NOT_FOUND ? i + k : e + k;
    }
    return i;
}

/* Finds a closing delimiter run of exactly `want` characters ch. */
static size_t find_closer(const char *s, size_t n, size_t i, char ch, size_t want)
{
    while (i < n) {
        size_t j = skip_opaque(s, n, i);
        if (j != i) {
            i = j;
            continue;
        }
        if (s[i] == ch) {
            size_t r = run_length(s, n, i);
            int right_flanking = i > 0 && !is_space(s[i - 1]);
            int ok = r == want && right_flanking;
            if (ok && ch == '_' && i + r < n && is_alnum(s[i + r]))
                ok = 0; /* no intraword underscore emphasis */
            if (ok)
                return i;
            i += r;
        } else {
            i++;
        }
    }
    return NOT_FOUND;
}

/* Matching ']' for the '[' at i, honouring nesting, escapes and code. */
static size_t find_bracket(const char *s, size_t n, size_t i)
{
    int depth = 0;

    if (n - i > MAX_LINK_TEXT)
        n = i + MAX_LINK_TEXT;
    while (i < n) {
        size_t j = skip_opaque(s, n, i);
        if (j != i) {
            i = j;
            continue;
        }
        if (s[i] == '[') {
            depth++;
        } else if (s[i] == ']') {
            if (--depth == 0)
                return i;
        }
        i++;
    }
    return NOT_FOUND;
}

/* Writes s with backslash escapes of punctuation removed, HTML-escaped. */
static void put_unescaped(md_buf *out, const char *s, size_t n, int url)
{
    md_buf tmp;
    size_t i;

    md_buf_init(&tmp);
    for (i = 0; i < n; i++) {
        if (s[i] == '\\' && i + 1 < n && is_punct(s[i + 1]))
            i++;
        md_buf_putc(&tmp, s[i]);
    }
    if (url)
        md_escape_url(out, tmp.data ? tmp.data : "", tmp.len);
    else
        md_escape_html(out, tmp.data ? tmp.data : "", tmp.len);
    md_buf_free(&tmp);
}

typedef struct {
    size_t dest, dest_len, title, title_len, end; /* end: index after ')' */
    int has_title;
} link_target;

/* Parses "(dest "title")" starting at s[i] == '('. */
static int parse_target(const char *s, size_t n, size_t i, link_target *t)
{
    int parens = 0;

    memset(t, 0, sizeof *t);
    i++;
    while (i < n && is_space(s[i]))
        i++;
    if (i < n && s[i] == '<') {
        t->dest = ++i;
        while (i < n && s[i] != '>' && s[i] != '\n' && s[i] != '<')
            i += (s[i] == '\\' && i + 1 < n) ? 2 : 1;
        if (i >= n || s[i] != '>')
            return 0;
        t->dest_len = i - t->dest;
        i++;
    } else {
        t->dest = i;
        while (i < n && !is_space(s[i])) {
            if (s[i] == '\\' && i + 1 < n) {
                i += 2;
                continue;
            }
            if (s[i] == '(')
                parens++;
            if (s[i] == ')') {
                if (parens == 0)
                    break;
                parens--;
            }
            i++;
        }
        t->dest_len = i - t->dest;
    }
    while (i < n && is_space(s[i]))
        i++;
    if (i < n && (s[i] == '"' || s[i] == '\'' || s[i] == '(')) {
        char close = s[i] == '(' ? ')' : s[i];
        size_t start = ++i;
        while (i < n && s[i] != close)
            i += (s[i] == '\\' && i + 1 < n) ? 2 : 1;
        if (i >= n)
            return 0;
        t->title = start;
        t->title_len = i - start;
        t->has_title = 1;
        i++;
        while (i < n && is_space(s[i]))
            i++;
    }
    if (i >= n || s[i] != ')')
        return 0;
    t->end = i + 1;
    return 1;
}

static int is_scheme_char(char ch)
{
    return is_alnum(ch) || ch == '+' || ch == '.' || ch == '-';
}

/* Recognises <scheme:...> and <user@host> at s[i]; returns the length. */
static size_t autolink_len(const char *s, size_t n, size_t i, int *email)
{
    size_t j = i + 1, k;
    int at = 0;

    if (n - i > MAX_AUTOLINK)
        n = i + MAX_AUTOLINK;

    if (j < n && ((s[j] >= 'a' && s[j] <= 'z') || (s[j] >= 'A' && s[j] <= 'Z'))) {
        for (k = j; k < n && k - j < 32 && is_scheme_char(s[k]); k++)
            ;
        if (k < n && s[k] == ':' && k - j >= 2) {
            for (k++; k < n && s[k] != '>'; k++)
                if (s[k] == ' ' || s[k] == '<' || s[k] == '\n' || (unsigned char)s[k] < 0x20)
                    return 0;
            if (k < n) {
                *email = 0;
                return k + 1 - i;
            }
            return 0;
        }
    }
    for (k = j; k < n && s[k] != '>'; k++) {
        if (s[k] == '@')
            at++;
        else if (!(is_alnum(s[k]) || strchr(".!#$%&'*+/=?^_`{|}~-", s[k])))
            return 0;
    }
    if (k < n && at == 1 && s[j] != '@' && s[k - 1] != '@') {
        *email = 1;
        return k + 1 - i;
    }
    return 0;
}

static void code_span(ictx *c, const char *s, size_t n)
{
    size_t i;
    int all_space = 1;

    for (i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\n')
            all_space = 0;
    /* Strip one space on both sides when both are present. */
    if (n >= 2 && !all_space && (s[0] == ' ' || s[0] == '\n') && (s[n - 1] == ' ' || s[n - 1] == '\n')) {
        s++;
        n -= 2;
    }
    if (!c->plain)
        md_buf_puts(c->out, "<code>");
    for (i = 0; i < n; i++) {
        if (s[i] == '\n')
            md_buf_putc(c->out, ' ');
        else
            md_escape_html(c->out, s + i, 1);
    }
    if (!c->plain)
        md_buf_puts(c->out, "</code>");
}

static void tag(ictx *c, const char *t)
{
    if (!c->plain)
        md_buf_puts(c->out, t);
}

static void nested(ictx *c, const char *s, size_t n)
{
    c->depth++;
    render(c, s, n);
    c->depth--;
}

/* fail_from[d][k]: a search for a closing run of k delimiters d that
 * started at or after this position is known to fail (NOT_FOUND: no
 * failure recorded yet). Later searches start further right and scan a
 * suffix of the same text, so they would fail too. */
typedef size_t fail_memo[3][4];

static int delim_index(char ch)
{
    return ch == '*' ? 0 : ch == '_' ? 1 : 2;
}

/* Handles '*', '_' and '~' runs at s[i]; returns the new position. */
static size_t emphasis(ictx *c, const char *s, size_t n, size_t i, fail_memo memo)
{
    char ch = s[i];
    size_t k = run_length(s, n, i), close;
    int left_flanking = i + k < n && !is_space(s[i + k]);

    if (ch == '_' && i > 0 && is_alnum(s[i - 1]))
        left_flanking = 0;
    if (ch == '~' && k != 2)
        left_flanking = 0;
    if (!left_flanking || k > 3 || c->depth >= MAX_NESTING) {
        md_buf_put(c->out, s + i, k);
        return i + k;
    }
    {
        size_t *known = &memo[delim_index(ch)][k];
        if (*known != NOT_FOUND && i + k >= *known) {
            close = NOT_FOUND;
        } else {
            close = find_closer(s, n, i + k, ch, k);
            if (close == NOT_FOUND && (*known == NOT_FOUND || i + k < *known))
                *known = i + k;
        }
    }
    if (close == NOT_FOUND) {
        /* Emit one delimiter literally; the rest may still match. */
        md_buf_putc(c->out, ch);
        return i + 1;
    }
    if (ch == '~') {
        tag(c, "<del>");
        nested(c, s + i + k, close - i - k);
        tag(c, "</del>");
    } else if (k == 3) {
        tag(c, "<em><strong>");
        nested(c, s + i + k, close - i - k);
        tag(c, "</strong></em>");
    } else {
        tag(c, k == 2 ? "<strong>" : "<em>");
        nested(c, s + i + k, close - i - k);
        tag(c, k == 2 ? "</strong>" : "</em>");
    }
    return close + k;
}

/* Handles "[text](target)" and "![alt](target)"; returns the new position
 * or NOT_FOUND when s[i] does not start a link. */
static size_t link(ictx *c, const char *s, size_t n, size_t i, int image)
{
    size_t open = image ? i + 1 : i;
    size_t close = find_bracket(s, n, open);
    link_target t;

    if (close == NOT_FOUND || close + 1 >= n || s[close + 1] != '(' || !parse_target(s, n, close + 1, &t))
        return NOT_FOUND;
    if (c->depth >= MAX_NESTING)
        return NOT_FOUND;
    if (image) {
        if (c->plain) {
            nested(c, s + open + 1, close - open - 1);
        } else {
            ictx alt = {c->out, 1, c->depth + 1};
            md_buf_puts(c->out, "<img src=\"");
            put_unescaped(c->out, s + t.dest, t.dest_len, 1);
            md_buf_puts(c->out, "\" alt=\"");
            render(&alt, s + open + 1, close - open - 1);
            md_buf_putc(c->out, '"');
            if (t.has_title) {
                md_buf_puts(c->out, " title=\"");
                put_unescaped(c->out, s + t.title, t.title_len, 0);
                md_buf_putc(c->out, '"');
            }
            md_buf_puts(c->out, " />");
        }
        return t.end;
    }
    if (!c->plain) {
        md_buf_puts(c->out, "<a href=\"");
        put_unescaped(c->out, s + t.dest, t.dest_len, 1);
        md_buf_putc(c->out, '"');
        if (t.has_title) {
            md_buf_puts(c->out, " title=\"");
            put_unescaped(c->out, s + t.title, t.title_len, 0);
            md_buf_putc(c->out, '"');
        }
        md_buf_putc(c->out, '>');
    }
    nested(c, s + open + 1, close - open - 1);
    tag(c, "</a>");
    return t.end;
}

static void render(ictx *c, const char *s, size_t n)
{
    size_t i = 0, run = 0, k, e;
    int email;
    fail_memo memo;

    for (k = 0; k < 3 * 4; k++)
        memo[k / 4][k % 4] = NOT_FOUND;

    /* `run` marks the start of pending plain text, flushed lazily. */
#define FLUSH() (md_escape_html(c->out, s + run, i - run))
    while (i < n) {
        char ch = s[i];
        switch (ch) {
        case '\\':
            if (i + 1 < n && s[i + 1] == '\n') {
                FLUSH();
                tag(c, "<br />");
                md_buf_putc(c->out, '\n');
                i += 2;
                run = i;
            } else if (i + 1 < n && is_punct(s[i + 1])) {
                FLUSH();
                md_escape_html(c->out, s + i + 1, 1);
                i += 2;
                run = i;
            } else {
                i++;
            }
            break;
        case '`':
            k = run_length(s, n, i);
            e = code_span_end(s, n, i + k, k);
            if (e == NOT_FOUND) {
                i += k; /* literal backticks */
                break;
            }
            FLUSH();
            code_span(c, s + i + k, e - i - k);
            i = e + k;
            run = i;
            break;
        case '*':
        case '_':
        case '~':
            FLUSH();
            i = emphasis(c, s, n, i, memo);
            run = i;
            break;
        case '!':
        case '[':
            if (ch == '!' && !(i + 1 < n && s[i + 1] == '[')) {
                i++;
                break;
            }
            FLUSH();
            run = i;
            e = link(c, s, n, i, ch == '!');
            if (e == NOT_FOUND) {
                i++; /* the bracket stays pending as literal text */
                break;
            }
            i = e;
            run = i;
            break;
        case '<':
            k = autolink_len(s, n, i, &email);
            if (k == 0) {
                i++;
                break;
            }
            FLUSH();
            if (!c->plain) {
                md_buf_puts(c->out, "<a href=\"");
                if (email)
                    md_buf_puts(c->out, "mailto:");
                md_escape_url(c->out, s + i + 1, k - 2);
                md_buf_puts(c->out, "\">");
            }
            md_escape_html(c->out, s + i + 1, k - 2);
            tag(c, "</a>");
            i += k;
            run = i;
            break;
        case '&':
            k = entity_len(s + i, n - i);
            if (k == 0) {
                i++;
                break;
            }
            FLUSH();
            md_buf_put(c->out, s + i, k);
            i += k;
            run = i;
            break;
        case '\n': {
            /* Trailing spaces: two or more make a hard line break. */
            size_t sp = 0;
            while (sp < i - run && s[i - 1 - sp] == ' ')
                sp++;
            md_escape_html(c->out, s + run, i - run - sp);
            if (sp >= 2)
                tag(c, "<br />");
            md_buf_putc(c->out, c->plain ? ' ' : '\n');
            i++;
            while (i < n && s[i] == ' ')
                i++; /* leading spaces of the next line */
            run = i;
            break;
        }
        default:
            i++;
            break;
        }
    }
    FLUSH();
#undef FLUSH
}

void md_render_inline(md_buf *out, const char *s, size_t len, int plain)
{
    ictx c;

    c.out = out;
    c.plain = plain;
    c.depth = 0;
    render(&c, s, len);
}
