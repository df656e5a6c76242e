/* md.h - a small CommonMark-flavoured Markdown to HTML converter.
 *
 * Supported: ATX and setext headings, paragraphs, hard line breaks,
 * thematic breaks, fenced and indented code blocks, block quotes, nested
 * bullet and ordered lists (tight and loose), GFM pipe tables, emphasis,
 * strong emphasis, strikethrough, code spans, links, images, autolinks,
 * backslash escapes and entity pass-through. Raw HTML is always escaped.
 */
#ifndef MDHTML_MD_H
#define MDHTML_MD_H

#include <stddef.h>

/* ---- growable output buffer (buf.c) ---- */
typedef struct {
    char *data; /* NUL terminated when non-NULL */
    size_t len;
    size_t cap;
    int failed; /* allocation failure; further writes are ignored */
} md_buf;

void md_buf_init(md_buf *b);
void md_buf_free(md_buf *b);
void md_buf_put(md_buf *b, const char *s, size_t n);
void md_buf_puts(md_buf *b, const char *s);
void md_buf_putc(md_buf *b, char c);
void md_buf_printf(md_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Ensures the buffer ends with a newline unless it is empty. */
void md_buf_cr(md_buf *b);

/* ---- block structure (block.c) ---- */
typedef enum {
    MD_DOCUMENT,
    MD_PARAGRAPH,
    MD_HEADING,
    MD_THEMATIC_BREAK,
    MD_CODE_BLOCK,
    MD_BLOCKQUOTE,
    MD_LIST,
    MD_LIST_ITEM,
    MD_TABLE
} md_node_type;

typedef enum { MD_ALIGN_NONE, MD_ALIGN_LEFT, MD_ALIGN_CENTER, MD_ALIGN_RIGHT } md_align;

typedef struct md_node md_node;

struct md_node {
    md_node_type type;
    int level;       /* heading level 1-6 */
    int ordered;     /* list: 1 for ordered lists */
    int start;       /* list: number of the first item */
    int tight;       /* list: items are not separated by blank lines */
    char *text;      /* paragraph/heading: inline source; code block: content */
    size_t text_len;
    char *info;      /* code block: first word of the info string, or NULL */
    md_align *align; /* table: one entry per column */
    size_t ncols;
    char **cells;    /* table: nrows * ncols inline sources, row major;
                        row 0 is the header row */
    size_t nrows;
    md_node **children;
    size_t nchildren;
    size_t cap;
};

/* Parses src into a document tree; returns NULL only when out of memory. */
md_node *md_parse(const char *src, size_t len);
void md_node_free(md_node *n);
const char *md_node_type_name(md_node_type t);

/* ---- inline rendering (inline.c) ---- */
void md_escape_html(md_buf *out, const char *s, size_t len);
/* Renders inline Markdown as HTML, or as plain text when plain != 0. */
void md_render_inline(md_buf *out, const char *s, size_t len, int plain);
/* Appends a URL for use in an href/src attribute: escaped, with unsafe
 * schemes (javascript:, vbscript:, data: except images) replaced by "#". */
void md_escape_url(md_buf *out, const char *s, size_t len);

/* ---- HTML output (html.c) ---- */
typedef struct {
    int heading_ids; /* add id="slug" to headings (default on) */
    int toc;         /* prepend a table of contents */
    int toc_depth;   /* deepest heading level in the table of contents */
    int standalone;  /* wrap in a complete HTML document */
    const char *title; /* standalone title; default: text of the first heading */
} md_options;

void md_options_default(md_options *o);
/* Appends a slug for heading text (already plain text) to out. */
void md_slugify(md_buf *out, const char *s, size_t len);
void md_render_html(const md_node *doc, const md_options *o, md_buf *out);
/* Parses and renders in one step. Returns 0, or -1 when out of memory. */
int md_to_html(const char *src, size_t len, const md_options *o, md_buf *out);

#endif
