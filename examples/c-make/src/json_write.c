/* json_write.c - compact and pretty serialisation. */
#include "json.h"

#include <stdlib.h>
#include <string.h>

static const char hexdigits[] = "0123456789abcdef";

static void put_u_escape(strbuf *out, unsigned cp)
{
    char b[6] = {'\\', 'u', 0, 0, 0, 0};

    b[2] = hexdigits[(cp >> 12) & 0xF];
    b[3] = hexdigits[(cp >> 8) & 0xF];
    b[4] = hexdigits[(cp >> 4) & 0xF];
    b[5] = hexdigits[cp & 0xF];
    strbuf_append(out, b, sizeof b);
}

/* Decodes one UTF-8 sequence starting at s[*i] (input is known to be
 * valid UTF-8 because the parser checked it). */
static unsigned decode_utf8(const unsigned char *s, size_t len, size_t *i)
{
    unsigned c = s[*i];
    unsigned cp;
    size_t n, k;

    if (c < 0x80) {
        (*i)++;
        return c;
    }
    if ((c & 0xE0) == 0xC0)
        n = 2, cp = c & 0x1F;
    else if ((c & 0xF0) == 0xE0)
        n = 3, cp = c & 0x0F;
    else
        n = 4, cp = c & 0x07;
    for (k = 1; k < n && *i + k < len; k++)
        cp = (cp << 6) | (s[*i + k] & 0x3F);
    *i += n;
    return cp;
}

void json_write_string(strbuf *out, const char *str, size_t len, int ascii)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;

    strbuf_putc(out, '"');
    while (i < len) {
        size_t run = i;

        while (i < len && s[i] >= 0x20 && s[i] != '"' && s[i] != '\\' && !(ascii && s[i] >= 0x80))
            i++;
        strbuf_append(out, str + run, i - run);
        if (i >= len)
            break;
        switch (s[i]) {
        case '"': strbuf_puts(out, "\\\""); i++; break;
        case '\\': strbuf_puts(out, "\\\\"); i++; break;
        case '\b': strbuf_puts(out, "\\b"); i++; break;
        case '\f': strbuf_puts(out, "\\f"); i++; break;
        case '\n': strbuf_puts(out, "\\n"); i++; break;
        case '\r': strbuf_puts(out, "\\r"); i++; break;
        case '\t': strbuf_puts(out, "\\t"); i++; break;
        default:
            if (s[i] < 0x20) {
                put_u_escape(out, s[i]);
                i++;
            } else {
                unsigned cp = decode_utf8(s, len, &i);
                if (cp >= 0x10000) {
                    cp -= 0x10000;
                    put_u_escape(out, 0xD800 + (cp >> 10));
                    put_u_escape(out, 0xDC00 + (cp & 0x3FF));
                } else {
                    put_u_escape(out, cp);
                }
            }
            break;
        }
    }
    strbuf_putc(out, '"');
}

static int member_cmp(const void *a, const void *b)
{
    const json_member *x = *(const json_member *const *)a;
    const json_member *y = *(const json_member *const *)b;
    size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
    int c = memcmp(x->key, y->key, n);

    if (c != 0)
        return c;
    return (x->key_len > y->key_len) - (x->key_len < y->key_len);
}

static void newline(strbuf *out, const json_write_options *o, int level)
{
    if (o->indent > 0) {
        strbuf_putc(out, '\n');
        strbuf_repeat(out, ' ', (size_t)o->indent * (size_t)level);
    }
}

static void write_value(strbuf *out, const json_value *v, const json_write_options *o, int level)
{
    size_t i;

    switch (v->type) {
    case JSON_NULL:
        strbuf_puts(out, "null");
        break;
    case JSON_BOOL:
        strbuf_puts(out, v->u.boolean ? "true" : "false");
        break;
    case JSON_NUMBER:
        strbuf_append(out, v->u.number.text, v->u.number.len);
        break;
    case JSON_STRING:
        json_write_string(out, v->u.string.data, v->u.string.len, o->ascii);
        break;
    case JSON_ARRAY:
        if (v->u.array.len == 0) {
            strbuf_puts(out, "[]");
            break;
        }
        strbuf_putc(out, '[');
        for (i = 0; i < v->u.array.len; i++) {
            if (i > 0)
                strbuf_putc(out, ',');
            newline(out, o, level + 1);
            write_value(out, v->u.array.items[i], o, level + 1);
        }
        newline(out, o, level);
        strbuf_putc(out, ']');
        break;
    case JSON_OBJECT: {
        const json_member **order;
        size_t n = v->u.object.len;

        if (n == 0) {
            strbuf_puts(out, "{}");
            break;
        }
        order = malloc(n * sizeof *order);
        if (!order) {
            out->failed = 1;
            return;
        }
        for (i = 0; i < n; i++)
            order[i] = &v->u.object.members[i];
        if (o->sort_keys)
            qsort(order, n, sizeof *order, member_cmp);
        strbuf_putc(out, '{');
        for (i = 0; i < n; i++) {
            if (i > 0)
                strbuf_putc(out, ',');
            newline(out, o, level + 1);
            json_write_string(out, order[i]->key, order[i]->key_len, o->ascii);
            strbuf_puts(out, o->indent > 0 ? ": " : ":");
            write_value(out, order[i]->value, o, level + 1);
        }
        free(order);
        newline(out, o, level);
        strbuf_putc(out, '}');
        break;
    }
    }
}

void json_write(strbuf *out, const json_value *v, const json_write_options *opts)
{
    static const json_write_options defaults = {2, 0, 0};

    write_value(out, v, opts ? opts : &defaults, 0);
}
