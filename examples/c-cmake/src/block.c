/* block.c - block structure parser.
 *
 * The input is split into lines (tabs expanded to 4-column stops). Each
 * container (document, block quote, list item) is parsed by the same
 * recursive function over an array of line slices; container prefixes such
 * as "> " or list indentation are removed by narrowing the slices, so no
 * text is copied until a leaf block is created.
 */
#include "md.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *s;
    size_t len;
} line_t;

typedef struct {
    line_t *items;
    size_t len, cap;
} lines_t;

typedef struct {
    int oom;
} pctx;

typedef struct {
    int ordered;
    char ch;            /* bullet character or ordered delimiter */
    int start;
    size_t content_off; /* column where the item content starts */
    int empty;          /* nothing after the marker */
} marker_t;

static int parse_blocks(pctx *c, const line_t *ls, size_t n, md_node *parent);

/* ---------- small helpers ---------- */

static int lines_push(pctx *c, lines_t *ls, line_t l)
{
    if (ls->len == ls->cap) {
        size_t ncap = ls->cap ? ls->cap * 2 : 16;
        line_t *p = realloc(ls->items, ncap * sizeof *p);
        if (!p) {
            c->oom = 1;
            return -1;
        }
        ls->items = p;
        ls->cap = ncap;
    }
    ls->items[ls->len++] = l;
    return 0;
}

static size_t indent_of(line_t l)
{
    size_t i = 0;

    while (i < l.len && l.s[i] == ' ')
        i++;
    return i;
}

static int is_blank(line_t l)
{
    return indent_of(l) == l.len;
}

static line_t strip_n(line_t l, size_t k)
{
    size_t ind = indent_of(l);

    if (k > ind)
        k = ind;
    l.s += k;
    l.len -= k;
    return l;
}

static line_t trim(line_t l)
{
    l = strip_n(l, l.len);
    while (l.len > 0 && l.s[l.len - 1] == ' ')
        l.len--;
    return l;
}

static char *dup_range(pctx *c, const char *s, size_t n)
{
    char *p = malloc(n + 1);

    if (!p) {
        c->oom = 1;
        return NULL;
    }
    if (n)
        memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

static md_node *new_node(pctx *c, md_node_type t)
{
    md_node *n = calloc(1, sizeof *n);

    if (!n)
        c->oom = 1;
    else
        n->type = t;
    return n;
}

static void add_child(pctx *c, md_node *parent, md_node *child)
{
    if (!child)
        return;
    if (parent->nchildren == parent->cap) {
        size_t ncap = parent->cap ? parent->cap * 2 : 4;
        md_node **p = realloc(parent->children, ncap * sizeof *p);
        if (!p) {
            c->oom = 1;
            md_node_free(child);
            return;
        }
        parent->children = p;
        parent->cap = ncap;
    }
    parent->children[parent->nchildren++] = child;
}

/* Joins lines with '\n'. For paragraphs leading spaces of every line and
 * trailing spaces of the last line are removed; code keeps lines verbatim
 * and ends every line with '\n'. */
static char *join_lines(pctx *c, const line_t *ls, size_t n, int code, size_t *out_len)
{
    size_t total = 0, i, pos = 0;
    char *p;

    for (i = 0; i < n; i++)
        total += ls[i].len + 1;
    p = malloc(total + 1);
    if (!p) {
        c->oom = 1;
        return NULL;
    }
    for (i = 0; i < n; i++) {
        line_t l = code ? ls[i] : strip_n(ls[i], ls[i].len);
        if (!code && i + 1 == n)
            l = trim(l);
        memcpy(p + pos, l.s, l.len);
        pos += l.len;
        if (code || i + 1 < n)
            p[pos++] = '\n';
    }
    p[pos] = '\0';
    *out_len = pos;
    return p;
}

/* ---------- block start recognisers ---------- */

static int atx_heading(line_t l, int *level, line_t *content)
{
    size_t ind = indent_of(l), i, k = 0, e;
    line_t c;

    if (ind >= 4)
        return 0;
    for (i = ind; i < l.len && l.s[i] == '#'; i++)
        k++;
    if (k < 1 || k > 6 || (i < l.len && l.s[i] != ' '))
        return 0;
    c.s = l.s + i;
    c.len = l.len - i;
    c = trim(c);
    /* Optional closing sequence: " ###" at the end. */
    e = c.len;
    while (e > 0 && c.s[e - 1] == '#')
        e--;
    if (e == 0) {
        c.len = 0;
    } else if (e < c.len && c.s[e - 1] == ' ') {
        c.len = e;
        c = trim(c);
    }
    *level = (int)k;
    *content = c;
    return 1;
}

static int thematic_break(line_t l)
{
    size_t ind = indent_of(l), i, count = 0;
    char ch;

    if (ind >= 4 || ind >= l.len)
        return 0;
    ch = l.s[ind];
    if (ch != '-' && ch != '*' && ch != '_')
        return 0;
    for (i = ind; i < l.len; i++) {
        if (l.s[i] == ch)
            count++;
        else if (l.s[i] != ' ')
            return 0;
    }
    return count >= 3;
}

static int fence_open(line_t l, char *ch, size_t *flen, line_t *info)
{
    size_t ind = indent_of(l), i, k = 0;

    if (ind >= 4 || ind >= l.len || (l.s[ind] != '`' && l.s[ind] != '~'))
        return 0;
    *ch = l.s[ind];
    for (i = ind; i < l.len && l.s[i] == *ch; i++)
        k++;
    if (k < 3)
        return 0;
    info->s = l.s + i;
    info->len = l.len - i;
    *info = trim(*info);
    if (*ch == '`' && memchr(info->s, '`', info->len))
        return 0;
    *flen = k;
    return 1;
}

static int fence_close(line_t l, char ch, size_t flen)
{
    size_t ind = indent_of(l), i, k = 0;

    if (ind >= 4)
        return 0;
    for (i = ind; i < l.len && l.s[i] == ch; i++)
        k++;
    if (k < flen)
        return 0;
    for (; i < l.len; i++)
        if (l.s[i] != ' ')
            return 0;
    return 1;
}

static int list_marker(line_t l, marker_t *m)
{
    size_t ind = indent_of(l), p = ind, sp = 0;

    if (ind >= 4 || ind >= l.len)
        return 0;
    memset(m, 0, sizeof *m);
    if (l.s[p] == '-' || l.s[p] == '+' || l.s[p] == '*') {
        m->ch = l.s[p];
        p++;
    } else {
        long v = 0;
        size_t digits = 0;
        while (p < l.len && l.s[p] >= '0' && l.s[p] <= '9' && digits < 9) {
            v = v * 10 + (l.s[p] - '0');
            p++;
            digits++;
        }
        if (digits == 0 || p >= l.len || (l.s[p] != '.' && l.s[p] != ')'))
            return 0;
        m->ordered = 1;
        m->start = (int)v;
        m->ch = l.s[p];
        p++;
    }
    if (p < l.len && l.s[p] != ' ')
        return 0;
    while (p + sp < l.len && l.s[p + sp] == ' ')
        sp++;
    if (p + sp == l.len) {
        m->empty = 1;
        m->content_off = p + 1;
    } else if (sp > 4) {
        m->content_off = p + 1; /* content is an indented code block */
    } else {
        m->content_off = p + sp;
    }
    return 1;
}

static int setext_underline(line_t l)
{
    size_t ind = indent_of(l), i;
    line_t t = trim(l);
    char ch;

    if (ind >= 4 || t.len == 0)
        return 0;
    ch = t.s[0];
    if (ch != '=' && ch != '-')
        return 0;
    for (i = 0; i < t.len; i++)
        if (t.s[i] != ch)
            return 0;
    return ch == '=' ? 1 : 2;
}

static int is_quote_start(line_t l)
{
    size_t ind = indent_of(l);

    return ind < 4 && ind < l.len && l.s[ind] == '>';
}

/* Can this line interrupt a paragraph? */
static int is_block_start(line_t l)
{
    int level;
    line_t content, info;
    char ch;
    size_t flen;
    marker_t m;

    if (atx_heading(l, &level, &content) || fence_open(l, &ch, &flen, &info) || thematic_break(l) ||
        is_quote_start(l))
        return 1;
    if (list_marker(l, &m) && !m.empty && (!m.ordered || m.start == 1))
        return 1;
    return 0;
}

/* ---------- tables ---------- */

/* Splits a table row into cells on unescaped '|'; returns the count. */
static size_t split_cells(line_t row, line_t *cells, size_t max)
{
    size_t i, start, n = 0;

    row = trim(row);
    if (row.len && row.s[0] == '|') {
        row.s++;
        row.len--;
    }
    if (row.len && row.s[row.len - 1] == '|' && !(row.len >= 2 && row.s[row.len - 2] == '\\'))
        row.len--;
    start = 0;
    for (i = 0; i <= row.len; i++) {
        if (i == row.len || (row.s[i] == '|' && (i == 0 || row.s[i - 1] != '\\'))) {
            if (n < max) {
                cells[n].s = row.s + start;
                cells[n].len = i - start;
                cells[n] = trim(cells[n]);
            }
            n++;
            start = i + 1;
        }
    }
    return n;
}

static int has_pipe(line_t l)
{
    return memchr(l.s, '|', l.len) != NULL;
}

#define MAX_COLS 64

static int table_delimiter(line_t l, md_align *align, size_t *ncols)
{
    line_t cells[MAX_COLS];
    size_t n, i, j;

    if (!has_pipe(l) && indent_of(l) < l.len && l.s[indent_of(l)] != ':' && l.s[indent_of(l)] != '-')
        return 0;
    n = split_cells(l, cells, MAX_COLS);
    if (n == 0 || n > MAX_COLS)
        return 0;
    for (i = 0; i < n; i++) {
        line_t c = cells[i];
        int left, right, dashes = 0;
        if (c.len == 0)
            return 0;
        left = c.s[0] == ':';
        right = c.len > 1 && c.s[c.len - 1] == ':';
        for (j = (size_t)left; j < c.len - (size_t)right; j++) {
            if (c.s[j] != '-')
                return 0;
            dashes++;
        }
        if (dashes == 0)
            return 0;
        align[i] = left && right ? MD_ALIGN_CENTER : left ? MD_ALIGN_LEFT : right ? MD_ALIGN_RIGHT : MD_ALIGN_NONE;
    }
    *ncols = n;
    return 1;
}

/* Stores a cell, turning "\|" into "|". */
static char *cell_text(pctx *c, line_t cell)
{
    char *p = dup_range(c, cell.s, cell.len);
    size_t i, o = 0;

    if (!p)
        return NULL;
    for (i = 0; i < cell.len; i++) {
        if (p[i] == '\\' && i + 1 < cell.len && p[i + 1] == '|')
            continue;
        p[o++] = p[i];
    }
    p[o] = '\0';
    return p;
}

static size_t parse_table(pctx *c, const line_t *ls, size_t n, size_t i, const md_align *align, size_t ncols,
                          md_node *parent)
{
    md_node *t = new_node(c, MD_TABLE);
    size_t j, rows = 0, r, k;
    line_t cells[MAX_COLS];

    if (!t)
        return n;
    /* Header, delimiter, then body rows until a blank line or new block. */
    for (j = i + 2; j < n && !is_blank(ls[j]) && has_pipe(ls[j]) && !is_block_start(ls[j]); j++)
        ;
    rows = 1 + (j - (i + 2));
    t->ncols = ncols;
    t->nrows = rows;
    t->align = malloc(ncols * sizeof *t->align);
    t->cells = calloc(rows * ncols, sizeof *t->cells);
    if (!t->align || !t->cells) {
        c->oom = 1;
        md_node_free(t);
        return n;
    }
    memcpy(t->align, align, ncols * sizeof *align);
    for (r = 0; r < rows; r++) {
        line_t row = ls[r == 0 ? i : i + 1 + r];
        size_t got = split_cells(row, cells, MAX_COLS);
        for (k = 0; k < ncols; k++) {
            line_t cell = {"", 0};
            if (k < got && k < MAX_COLS)
                cell = cells[k];
            t->cells[r * ncols + k] = cell_text(c, cell);
        }
    }
    add_child(c, parent, t);
    return j;
}

/* ---------- leaf blocks ---------- */

static void add_text_node(pctx *c, md_node *parent, md_node_type type, int level, const line_t *ls, size_t n)
{
    md_node *node = new_node(c, type);

    if (!node)
        return;
    node->level = level;
    node->text = join_lines(c, ls, n, type == MD_CODE_BLOCK, &node->text_len);
    add_child(c, parent, node);
}

static size_t parse_indented_code(pctx *c, const line_t *ls, size_t n, size_t i, md_node *parent)
{
    size_t j, last = i, k;
    lines_t body = {NULL, 0, 0};

    for (j = i; j < n; j++) {
        if (is_blank(ls[j]))
            continue;
        if (indent_of(ls[j]) < 4)
            break;
        last = j;
    }
    for (k = i; k <= last; k++)
        lines_push(c, &body, strip_n(ls[k], 4));
    add_text_node(c, parent, MD_CODE_BLOCK, 0, body.items, body.len);
    free(body.items);
    return last + 1;
}

static size_t parse_fenced_code(pctx *c, const line_t *ls, size_t n, size_t i, char ch, size_t flen, line_t info,
                                md_node *parent)
{
    size_t ind = indent_of(ls[i]), j;
    lines_t body = {NULL, 0, 0};
    md_node *node;

    for (j = i + 1; j < n && !fence_close(ls[j], ch, flen); j++)
        lines_push(c, &body, strip_n(ls[j], ind));
    node = new_node(c, MD_CODE_BLOCK);
    if (node) {
        size_t w = 0;
        while (w < info.len && info.s[w] != ' ')
            w++;
        node->info = w ? dup_range(c, info.s, w) : NULL;
        node->text = join_lines(c, body.items, body.len, 1, &node->text_len);
        add_child(c, parent, node);
    }
    free(body.items);
    return j < n ? j + 1 : n;
}

static size_t parse_paragraph(pctx *c, const line_t *ls, size_t n, size_t i, md_node *parent)
{
    size_t j = i + 1, ncols;
    md_align align[MAX_COLS];
    line_t cells[MAX_COLS];
    int level;

    if (j < n && has_pipe(ls[i]) && table_delimiter(ls[j], align, &ncols) &&
        split_cells(ls[i], cells, MAX_COLS) == ncols)
        return parse_table(c, ls, n, i, align, ncols, parent);
    while (j < n && !is_blank(ls[j])) {
        level = setext_underline(ls[j]);
        if (level) {
            add_text_node(c, parent, MD_HEADING, level, ls + i, j - i);
            return j + 1;
        }
        if (is_block_start(ls[j]))
            break;
        j++;
    }
    add_text_node(c, parent, MD_PARAGRAPH, 0, ls + i, j - i);
    return j;
}

/* ---------- containers ---------- */

static size_t parse_quote(pctx *c, const line_t *ls, size_t n, size_t i, md_node *parent)
{
    lines_t inner = {NULL, 0, 0};
    md_node *q = new_node(c, MD_BLOCKQUOTE);
    int last_text = 0;
    size_t j;

    for (j = i; j < n; j++) {
        line_t l = ls[j];
        if (is_quote_start(l)) {
            size_t ind = indent_of(l);
            l.s += ind + 1;
            l.len -= ind + 1;
            if (l.len && l.s[0] == ' ') {
                l.s++;
                l.len--;
            }
            lines_push(c, &inner, l);
            last_text = !is_blank(l);
        } else if (last_text && !is_blank(l) && !is_block_start(l)) {
            lines_push(c, &inner, l); /* lazy continuation line */
        } else {
            break;
        }
    }
    if (q) {
        parse_blocks(c, inner.items, inner.len, q);
        add_child(c, parent, q);
    }
    free(inner.items);
    return j;
}

static size_t parse_list(pctx *c, const line_t *ls, size_t n, size_t i, marker_t m, md_node *parent)
{
    md_node *list = new_node(c, MD_LIST);
    marker_t cur = m, next;
    size_t j = i, k, trailing = 0;

    if (!list)
        return n;
    list->ordered = m.ordered;
    list->start = m.start;
    list->tight = 1;
    for (;;) {
        lines_t item = {NULL, 0, 0};
        md_node *node;
        line_t first = ls[j];
        int last_text;

        if (cur.empty) {
            first.s += first.len;
            first.len = 0;
        } else {
            first.s += cur.content_off;
            first.len -= cur.content_off;
        }
        lines_push(c, &item, first);
        last_text = !cur.empty;
        for (j++; j < n; j++) {
            line_t l = ls[j];
            marker_t tmp;
            if (is_blank(l)) {
                /* An item may begin with at most one blank line. */
                if (item.len == 1 && cur.empty)
                    break;
                lines_push(c, &item, strip_n(l, cur.content_off));
                last_text = 0;
            } else if (indent_of(l) >= cur.content_off) {
                lines_push(c, &item, strip_n(l, cur.content_off));
                last_text = 1;
            } else if (last_text && !is_block_start(l) && !list_marker(l, &tmp)) {
                lines_push(c, &item, l); /* lazy continuation line */
            } else {
                break;
            }
        }
        trailing = 0;
        /* The empty first line of an item like "-" is not a blank line. */
        while (item.len > (cur.empty ? 1u : 0u) && is_blank(item.items[item.len - 1])) {
            item.len--;
            trailing++;
        }
        node = new_node(c, MD_LIST_ITEM);
        if (node) {
            if (parse_blocks(c, item.items, item.len, node))
                list->tight = 0;
            add_child(c, list, node);
        }
        free(item.items);
        /* Look past blank lines for the next item of the same list. */
        k = j;
        while (k < n && is_blank(ls[k]))
            k++;
        if (k >= n || thematic_break(ls[k]) || !list_marker(ls[k], &next) || next.ordered != m.ordered ||
            next.ch != m.ch)
            break;
        if (trailing > 0 || k > j)
            list->tight = 0;
        j = k;
        cur = next;
    }
    add_child(c, parent, list);
    return j - trailing;
}

/* Parses lines into children of parent. Returns 1 when blank lines
 * separated two of the children (which makes a list item loose). */
static int parse_blocks(pctx *c, const line_t *ls, size_t n, md_node *parent)
{
    size_t i = 0;
    int blank_between = 0, pending_blank = 0;

    while (i < n && !c->oom) {
        line_t l = ls[i], content, info;
        int level;
        char ch;
        size_t flen;
        marker_t m;

        if (is_blank(l)) {
            if (parent->nchildren > 0)
                pending_blank = 1;
            i++;
            continue;
        }
        if (pending_blank) {
            blank_between = 1;
            pending_blank = 0;
        }
        if (indent_of(l) >= 4) {
            i = parse_indented_code(c, ls, n, i, parent);
        } else if (fence_open(l, &ch, &flen, &info)) {
            i = parse_fenced_code(c, ls, n, i, ch, flen, info, parent);
        } else if (atx_heading(l, &level, &content)) {
            add_text_node(c, parent, MD_HEADING, level, &content, 1);
            i++;
        } else if (thematic_break(l)) {
            add_child(c, parent, new_node(c, MD_THEMATIC_BREAK));
            i++;
        } else if (is_quote_start(l)) {
            i = parse_quote(c, ls, n, i, parent);
        } else if (list_marker(l, &m)) {
            i = parse_list(c, ls, n, i, m, parent);
        } else {
            i = parse_paragraph(c, ls, n, i, parent);
        }
    }
    return blank_between;
}

/* ---------- entry points ---------- */

md_node *md_parse(const char *src, size_t len)
{
    pctx c = {0};
    md_buf text;
    lines_t lines = {NULL, 0, 0};
    size_t *starts = NULL, nlines = 0, cap = 0, i, col = 0, line_start = 0;
    md_node *doc;

    /* Pass 1: normalise line endings, expand tabs, replace NUL bytes. */
    md_buf_init(&text);
    for (i = 0; i <= len; i++) {
        if (i == len || src[i] == '\n' || src[i] == '\r') {
            if (i == len && text.len == line_start)
                break; /* no empty line after a final newline */
            if (nlines == cap) {
                size_t ncap = cap ? cap * 2 : 64;
                size_t *p = realloc(starts, 2 * ncap * sizeof *p);
                if (!p) {
                    c.oom = 1;
                    break;
                }
                starts = p;
                cap = ncap;
            }
            starts[2 * nlines] = line_start;
            starts[2 * nlines + 1] = text.len - line_start;
            nlines++;
            if (i < len && src[i] == '\r' && i + 1 < len && src[i + 1] == '\n')
                i++;
            line_start = text.len;
            col = 0;
        } else if (src[i] == '\t') {
            do {
                md_buf_putc(&text, ' ');
                col++;
            } while (col % 4 != 0);
        } else if (src[i] == '\0') {
            md_buf_put(&text, "\xEF\xBF\xBD", 3);
            col++;
        } else {
            md_buf_putc(&text, src[i]);
            col++;
        }
    }
    if (text.failed)
        c.oom = 1;
    /* Pass 2: build line slices now that the buffer no longer moves. */
    for (i = 0; i < nlines && !c.oom; i++) {
        line_t l;
        l.s = text.data ? text.data + starts[2 * i] : "";
        l.len = starts[2 * i + 1];
        lines_push(&c, &lines, l);
    }
    free(starts);
    doc = new_node(&c, MD_DOCUMENT);
    if (doc && !c.oom)
        parse_blocks(&c, lines.items, lines.len, doc);
    free(lines.items);
    md_buf_free(&text);
    if (c.oom) {
        md_node_free(doc);
        return NULL;
    }
    return doc;
}

void md_node_free(md_node *n)
{
    size_t i;

    if (!n)
        return;
    for (i = 0; i < n->nchildren; i++)
        md_node_free(n->children[i]);
    free(n->children);
    free(n->text);
    free(n->info);
    free(n->align);
    if (n->cells)
        for (i = 0; i < n->nrows * n->ncols; i++)
            free(n->cells[i]);
    free(n->cells);
    free(n);
}

const char *md_node_type_name(md_node_type t)
{
    static const char *const names[] = {"document",   "paragraph", "heading",   "thematic_break", "code_block",
                                        "blockquote", "list",      "list_item", "table"};

    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "invalid";
}
