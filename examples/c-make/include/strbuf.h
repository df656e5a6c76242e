/* strbuf.h - growable byte buffer used by the JSON writer and the CLI. */
#ifndef JSONQ_STRBUF_H
#define JSONQ_STRBUF_H

#include <stddef.h>

typedef struct {
    char *data;  /* always NUL terminated when non-NULL */
    size_t len;
    size_t cap;
    int failed;  /* set when an allocation failed; further appends are no-ops */
} strbuf;

void strbuf_init(strbuf *sb);
void strbuf_free(strbuf *sb);
void strbuf_reset(strbuf *sb);
int strbuf_reserve(strbuf *sb, size_t extra);
void strbuf_append(strbuf *sb, const char *data, size_t len);
void strbuf_puts(strbuf *sb, const char *s);
void strbuf_putc(strbuf *sb, char c);
void strbuf_repeat(strbuf *sb, char c, size_t n);
void strbuf_printf(strbuf *sb, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Returns the buffer contents and leaves sb empty; caller frees. */
char *strbuf_detach(strbuf *sb, size_t *len);

#endif
