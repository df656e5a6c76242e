/* html.c - renders the block tree as HTML (CommonMark reference style). */
#include "md.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    const md_node *node;
    char *slug;
} heading_ref;

typedef struct {
    md_buf *out;
    const md_options *o;
    heading_ref *headings;
    size_t nheadings, cap, next; /* next: index of the next heading to render */
} rctx;

void md_options_default(md_options *o)
{
    o->heading_ids = 1;
    o->toc = 0;
    o->toc_depth = 3;
    o->standalone = 0;
    o->title = NULL;
}

void md_slugify(md_buf *out, const char *s, size_t len)
{
    size_t i, start = out->len;
    int dash = 0;

    for (i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '&') {
            /* Skip HTML entities such as &amp; produced by escaping. */
            size_t j = i + 1;
            while (j < len && j - i < 12 && s[j] != ';' && s[j] != ' ')
                j++;
            if (j < len && s[j] == ';') {
                i = j;
                continue;
            }
        }
        if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch >= 0x80 || ch == '_') {
            if (dash && out->len > start)
                md_buf_putc(out, '-');
            dash = 0;
            md_buf_putc(out, (char)ch);
        } else if (ch >= 'A' && ch <= 'Z') {
            if (dash && out->len > start)
                md_buf_putc(out, '-');
            dash = 0;
            md_buf_putc(out, (char)(ch - 'A' + 'a'));
        } else if (ch == ' ' || ch == '-' || ch == '\n') {
            dash = 1;
        }
    }
    if (out->len == start)
        md_buf_puts(out, "section");
}

static void plain_text(md_buf *out, const md_node *n)
{
    md_render_inline(out, n->text ? n->text : "", n->text_len, 1);
}

static void collect_headings(rctx *c, const md_node *n)
{
    size_t i;

    if (n->type == MD_HEADING) {
        md_buf plain, slug;
        size_t k, suffix = 0;

        if (c->nheadings == c->cap) {
            size_t ncap = c->cap ? c->cap * 2 : 16;
            heading_ref *p = realloc(c->headings, ncap * sizeof *p);
            if (!p) {
                c->out->failed = 1;
                return;
            }
            c->headings = p;
            c->cap = ncap;
        }
        md_buf_init(&plain);
        md_buf_init(&slug);
        plain_text(&plain, n);
        md_slugify(&slug, plain.data ? plain.data : "", plain.len);
        /* Make the slug unique: "intro", "intro-1", "intro-2", ... */
        for (;;) {
            int clash = 0;
            for (k = 0; k < c->nheadings; k++)
                if (strcmp(c->headings[k].slug, slug.data) == 0)
                    clash = 1;
            if (!clash)
                break;
            md_buf_free(&slug);
            md_buf_init(&slug);
            md_slugify(&slug, plain.data ? plain.data : "", plain.len);
            md_buf_printf(&slug, "-%lu", (unsigned long)++suffix);
        }
        md_buf_free(&plain);
        if (slug.failed) {
            c->out->failed = 1;
            md_buf_free(&slug);
            return;
        }
        c->headings[c->nheadings].node = n;
        c->headings[c->nheadings].slug = slug.data;
        c->nheadings++;
    }
    for (i = 0; i < n->nchildren; i++)
        collect_headings(c, n->children[i]);
}

static void inline_html(rctx *c, const md_node *n)
{
    md_render_inline(c->out, n->text ? n->text : "", n->text_len, 0);
}

static const char *align_attr(md_align a)
{
    switch (a) {
    case MD_ALIGN_LEFT: return " align=\"left\"";
    case MD_ALIGN_CENTER: return " align=\"center\"";
    case MD_ALIGN_RIGHT: return " align=\"right\"";
    default: return "";
    }
}

static void render_table(rctx *c, const md_node *t)
{
    size_t r, k;
    md_buf *out = c->out;

    md_buf_cr(out);
    md_buf_puts(out, "<table>\n<thead>\n");
    for (r = 0; r < t->nrows; r++) {
        const char *cell_tag = r == 0 ? "th" : "td";
        if (r == 1)
            md_buf_puts(out, "<tbody>\n");
        md_buf_puts(out, "<tr>\n");
        for (k = 0; k < t->ncols; k++) {
            const char *src = t->cells[r * t->ncols + k];
            md_buf_printf(out, "<%s%s>", cell_tag, align_attr(t->align[k]));
            md_render_inline(out, src, strlen(src), 0);
            md_buf_printf(out, "</%s>\n", cell_tag);
        }
        md_buf_puts(out, "</tr>\n");
        if (r == 0)
            md_buf_puts(out, "</thead>\n");
    }
    if (t->nrows > 1)
        md_buf_puts(out, "</tbody>\n");
    md_buf_puts(out, "</table>\n");
}

static void render_block(rctx *c, const md_node *n, int tight)
{
    md_buf *out = c->out;
    size_t i;

    switch (n->type) {
    case MD_DOCUMENT:
        for (i = 0; i < n->nchildren; i++)
            render_block(c, n->children[i], 0);
        break;
    case MD_PARAGRAPH:
        if (tight) {
            inline_html(c, n);
        } else {
            md_buf_cr(out);
            md_buf_puts(out, "<p>");
            inline_html(c, n);
            md_buf_puts(out, "</p>\n");
        }
        break;
    case MD_HEADING: {
        const char *slug = c->next < c->nheadings ? c->headings[c->next].slug : NULL;
        c->next++;
        md_buf_cr(out);
        md_buf_printf(out, "<h%d", n->level);
        if (c->o->heading_ids && slug) {
            md_buf_puts(out, " id=\"");
            md_escape_html(out, slug, strlen(slug));
            md_buf_putc(out, '"');
        }
        md_buf_putc(out, '>');
        inline_html(c, n);
        md_buf_printf(out, "</h%d>\n", n->level);
        break;
    }
    case MD_THEMATIC_BREAK:
        md_buf_cr(out);
        md_buf_puts(out, "<hr />\n");
        break;
    case MD_CODE_BLOCK:
        md_buf_cr(out);
        md_buf_puts(out, "<pre><code");
        if (n->info) {
            md_buf_puts(out, " class=\"language-");
            md_escape_html(out, n->info, strlen(n->info));
            md_buf_putc(out, '"');
        }
        md_buf_putc(out, '>');
        md_escape_html(out, n->text ? n->text : "", n->text_len);
        md_buf_puts(out, "</code></pre>\n");
        break;
    case MD_BLOCKQUOTE:
        md_buf_cr(out);
        md_buf_puts(out, "<blockquote>\n");
        for (i = 0; i < n->nchildren; i++)
            render_block(c, n->children[i], 0);
        md_buf_cr(out);
        md_buf_puts(out, "</blockquote>\n");
        break;
    case MD_LIST:
        md_buf_cr(out);
        if (!n->ordered)
            md_buf_puts(out, "<ul>\n");
        else if (n->start != 1)
            md_buf_printf(out, "<ol start=\"%d\">\n", n->start);
        else
            md_buf_puts(out, "<ol>\n");
        for (i = 0; i < n->nchildren; i++)
            render_block(c, n->children[i], n->tight);
        md_buf_cr(out);
        md_buf_puts(out, n->ordered ? "</ol>\n" : "</ul>\n");
        break;
    case MD_LIST_ITEM:
        md_buf_cr(out);
        md_buf_puts(out, "<li>");
        for (i = 0; i < n->nchildren; i++)
            render_block(c, n->children[i], tight);
        md_buf_puts(out, "</li>\n");
        break;
    case MD_TABLE:
        render_table(c, n);
        break;
    }
}

static void render_toc(rctx *c)
{
    md_buf *out = c->out;
    int base = 7, cur = 0, first = 1;
    size_t i;

    for (i = 0; i < c->nheadings; i++)
        if (c->headings[i].node->level <= c->o->toc_depth && c->headings[i].node->level < base)
            base = c->headings[i].node->level;
    if (base == 7)
        return;
    md_buf_puts(out, "<nav class=\"toc\">\n<ul>\n");
    cur = base;
    for (i = 0; i < c->nheadings; i++) {
        const md_node *h = c->headings[i].node;
        int lvl = h->level;
        if (lvl > c->o->toc_depth)
            continue;
        if (first) {
            first = 0;
        } else if (lvl > cur) {
            /* Open one nested list per level; skipped levels stay empty. */
            while (cur < lvl) {
                md_buf_puts(out, "\n<ul>\n");
                cur++;
                if (cur < lvl)
                    md_buf_puts(out, "<li>");
            }
        } else {
            md_buf_puts(out, "</li>\n");
            while (cur > lvl) {
                md_buf_puts(out, "</ul>\n</li>\n");
                cur--;
            }
        }
        md_buf_puts(out, "<li><a href=\"#");
        md_escape_html(out, c->headings[i].slug, strlen(c->headings[i].slug));
        md_buf_puts(out, "\">");
        inline_html(c, h);
        md_buf_puts(out, "</a>");
    }
    md_buf_puts(out, "</li>\n");
    while (cur > base) {
        md_buf_puts(out, "</ul>\n</li>\n");
        cur--;
    }
    md_buf_puts(out, "</ul>\n</nav>\n");
}

void md_render_html(const md_node *doc, const md_options *o, md_buf *out)
{
    md_options defaults;
    rctx c;
    size_t i;

    if (!o) {
        md_options_default(&defaults);
        o = &defaults;
    }
    memset(&c, 0, sizeof c);
    c.out = out;
    c.o = o;
    collect_headings(&c, doc);
    if (o->standalone) {
        md_buf_puts(out, "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n<title>");
        if (o->title) {
            md_escape_html(out, o->title, strlen(o->title));
        } else if (c.nheadings > 0) {
            plain_text(out, c.headings[0].node);
        }
        md_buf_puts(out, "</title>\n</head>\n<body>\n");
    }
    if (o->toc)
        render_toc(&c);
    render_block(&c, doc, 0);
    if (o->standalone)
        md_buf_puts(out, "</body>\n</html>\n");
    for (i = 0; i < c.nheadings; i++)
        free(c.headings[i].slug);
    free(c.headings);
}

int md_to_html(const char *src, size_t len, const md_options *o, md_buf *out)
{
    md_node *doc = md_parse(src, len);

    if (!doc)
        return -1;
    md_render_html(doc, o, out);
    md_node_free(doc);
    return out->failed ? -1 : 0;
}
