/* buf.c - growable output buffer. */
#include "md.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void md_buf_init(md_buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->failed = 0;
}

void md_buf_free(md_buf *b)
{
    free(b->data);
    md_buf_init(b);
}

static int reserve(md_buf *b, size_t extra)
{
    size_t need, cap;
    char *p;

    if (b->failed)
        return -1;
    if (extra > (size_t)-1 / 2 - b->len) {
        b->failed = 1;
        return -1;
    }
    need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    p = realloc(b->data, cap);
    if (!p) {
        b->failed = 1;
        return -1;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

void md_buf_put(md_buf *b, const char *s, size_t n)
{
    if (reserve(b, n) != 0)
        return;
    if (n)
        memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void md_buf_puts(md_buf *b, const char *s)
{
    md_buf_put(b, s, strlen(s));
}

void md_buf_putc(md_buf *b, char c)
{
    md_buf_put(b, &c, 1);
}

void md_buf_printf(md_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || reserve(b, (size_t)n) != 0)
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void md_buf_cr(md_buf *b)
{
    if (b->len > 0 && b->data[b->len - 1] != '\n')
        md_buf_putc(b, '\n');
}
