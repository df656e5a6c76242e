/* json_parse.c - strict recursive descent JSON parser with precise error
 * positions. Optional extensions: comments and trailing commas. */
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *text;
    size_t len;
    size_t pos;
    int flags;
    int depth;
    json_error *err;
    int failed;
} parser;

static void fail_at(parser *p, size_t offset, const char *msg)
{
    size_t i;
    int line = 1, col = 1;

    if (p->failed)
        return;
    p->failed = 1;
    if (!p->err)
        return;
    if (offset > p->len)
        offset = p->len;
    for (i = 0; i < offset; i++) {
        if (p->text[i] == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    p->err->offset = offset;
    p->err->line = line;
    p->err->column = col;
    snprintf(p->err->message, sizeof p->err->message, "%s", msg);
}

static void fail(parser *p, const char *msg)
{
    fail_at(p, p->pos, msg);
}

static int peek(const parser *p)
{
    return p->pos < p->len ? (unsigned char)p->text[p->pos] : -1;
}

static void skip_ws(parser *p)
{
    while (p->pos < p->len) {
        char c = p->text[p->pos];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            p->pos++;
        } else if (c == '/' && (p->flags & JSON_PARSE_COMMENTS) && p->pos + 1 < p->len) {
            size_t start = p->pos;
            if (p->text[p->pos + 1] == '/') {
                while (p->pos < p->len && p->text[p->pos] != '\n')
                    p->pos++;
            } else if (p->text[p->pos + 1] == '*') {
                p->pos += 2;
                while (p->pos + 1 < p->len && !(p->text[p->pos] == '*' && p->text[p->pos + 1] == '/'))
                    p->pos++;
                if (p->pos + 1 >= p->len) {
                    fail_at(p, start, "unterminated comment");
                    return;
                }
                p->pos += 2;
            } else {
                return;
            }
        } else {
            return;
        }
    }
}

static json_value *parse_value(parser *p);

static int match_word(parser *p, const char *word)
{
    size_t n = strlen(word);

    if (p->len - p->pos >= n && memcmp(p->text + p->pos, word, n) == 0) {
        p->pos += n;
        return 1;
    }
    return 0;
}

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static json_value *parse_number(parser *p)
{
    size_t start = p->pos;
    json_value *v;

    if (peek(p) == '-')
        p->pos++;
    if (peek(p) == '0') {
        p->pos++;
        if (is_digit(peek(p))) {
            fail(p, "leading zeros are not allowed");
            return NULL;
        }
    } else if (is_digit(peek(p))) {
        while (is_digit(peek(p)))
            p->pos++;
    } else {
        fail(p, "expected digit");
        return NULL;
    }
    if (peek(p) == '.') {
        p->pos++;
        if (!is_digit(peek(p))) {
            fail(p, "expected digit after decimal point");
            return NULL;
        }
        while (is_digit(peek(p)))
            p->pos++;
    }
    if (peek(p) == 'e' || peek(p) == 'E') {
        p->pos++;
        if (peek(p) == '+' || peek(p) == '-')
            p->pos++;
        if (!is_digit(peek(p))) {
            fail(p, "expected digit in exponent");
            return NULL;
        }
        while (is_digit(peek(p)))
            p->pos++;
    }
    v = json_new_number(p->text + start, p->pos - start);
    if (!v)
        fail_at(p, start, "out of memory");
    return v;
}

static int hex4(parser *p, unsigned *out)
{
    unsigned v = 0;
    int i;

    if (p->len - p->pos < 4) {
        fail(p, "truncated \\u escape");
        return -1;
    }
    for (i = 0; i < 4; i++) {
        char c = p->text[p->pos + (size_t)i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else {
            fail_at(p, p->pos + (size_t)i, "invalid hex digit in \\u escape");
            return -1;
        }
    }
    p->pos += 4;
    *out = v;
    return 0;
}

static void put_utf8(strbuf *sb, unsigned cp)
{
    char b[4];

    if (cp < 0x80) {
        b[0] = (char)cp;
        strbuf_append(sb, b, 1);
    } else if (cp < 0x800) {
        b[0] = (char)(0xC0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3F));
        strbuf_append(sb, b, 2);
    } else if (cp < 0x10000) {
        b[0] = (char)(0xE0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F));
        strbuf_append(sb, b, 3);
    } else {
        b[0] = (char)(0xF0 | (cp >> 18));
        b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (char)(0x80 | (cp & 0x3F));
        strbuf_append(sb, b, 4);
    }
}

size_t json_utf8_valid_prefix(const unsigned char *s, size_t len)
{
    size_t i = 0;

    while (i < len) {
        unsigned c = s[i];
        size_t n;
        unsigned cp, min;

        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            n = 2, cp = c & 0x1F, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            n = 3, cp = c & 0x0F, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            n = 4, cp = c & 0x07, min = 0x10000;
        } else {
            return i;
        }
        if (len - i < n)
            return i;
        for (size_t k = 1; k < n; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return i;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return i;
        i += n;
    }
    return len;
}

/* Parses a string literal into sb (without quotes). */
static int parse_string_into(parser *p, strbuf *sb)
{
    p->pos++; /* opening quote */
    for (;;) {
        size_t run = p->pos;
        size_t valid;
        int c;

        /* Copy the longest run of plain characters in one go. */
        while (p->pos < p->len) {
            unsigned char ch = (unsigned char)p->text[p->pos];
            if (ch == '"' || ch == '\\' || ch < 0x20)
                break;
            p->pos++;
        }
        valid = json_utf8_valid_prefix((const unsigned char *)p->text + run, p->pos - run);
        if (valid != p->pos - run) {
            fail_at(p, run + valid, "invalid UTF-8 in string");
            return -1;
        }
        strbuf_append(sb, p->text + run, p->pos - run);
        c = peek(p);
        if (c == '"') {
            p->pos++;
            return sb->failed ? -1 : 0;
        }
        if (c < 0) {
            fail(p, "unterminated string");
            return -1;
        }
        if (c != '\\') {
            fail(p, "control character in string must be escaped");
            return -1;
        }
        p->pos++;
        c = peek(p);
        p->pos++;
        switch (c) {
        case '"': strbuf_putc(sb, '"'); break;
        case '\\': strbuf_putc(sb, '\\'); break;
        case '/': strbuf_putc(sb, '/'); break;
        case 'b': strbuf_putc(sb, '\b'); break;
        case 'f': strbuf_putc(sb, '\f'); break;
        case 'n': strbuf_putc(sb, '\n'); break;
        case 'r': strbuf_putc(sb, '\r'); break;
        case 't': strbuf_putc(sb, '\t'); break;
        case 'u': {
            unsigned cp, lo;
            size_t esc = p->pos - 2;
            if (hex4(p, &cp) != 0)
                return -1;
            if (cp >= 0xDC00 && cp <= 0xDFFF) {
                fail_at(p, esc, "unpaired low surrogate");
                return -1;
            }
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (!(p->len - p->pos >= 2 && p->text[p->pos] == '\\' && p->text[p->pos + 1] == 'u')) {
                    fail_at(p, esc, "unpaired high surrogate");
                    return -1;
                }
                p->pos += 2;
                if (hex4(p, &lo) != 0)
                    return -1;
                if (lo < 0xDC00 || lo > 0xDFFF) {
                    fail_at(p, esc, "unpaired high surrogate");
                    return -1;
                }
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            put_utf8(sb, cp);
            break;
        }
        default:
            fail_at(p, p->pos - 2, "invalid escape sequence");
            return -1;
        }
    }
}

static json_value *parse_string(parser *p)
{
    strbuf sb;
    json_value *v = NULL;

    strbuf_init(&sb);
    if (parse_string_into(p, &sb) == 0) {
        v = json_new_string(sb.data ? sb.data : "", sb.len);
        if (!v)
            fail(p, "out of memory");
    }
    strbuf_free(&sb);
    return v;
}

static int enter(parser *p)
{
    if (++p->depth > JSON_MAX_DEPTH) {
        fail(p, "document nested too deeply");
        return -1;
    }
    return 0;
}

static json_value *parse_array(parser *p)
{
    json_value *arr = json_new_array();

    if (!arr || enter(p) != 0) {
        if (!arr)
            fail(p, "out of memory");
        json_free(arr);
        return NULL;
    }
    p->pos++; /* [ */
    skip_ws(p);
    if (peek(p) == ']') {
        p->pos++;
        p->depth--;
        return arr;
    }
    for (;;) {
        json_value *item;

        skip_ws(p);
        if (peek(p) == ']' && (p->flags & JSON_PARSE_TRAILING_COMMAS) && arr->u.array.len > 0) {
            p->pos++;
            break;
        }
        item = parse_value(p);
        if (!item)
            goto error;
        if (json_array_push(arr, item) != 0) {
            json_free(item);
            fail(p, "out of memory");
            goto error;
        }
        skip_ws(p);
        if (peek(p) == ',') {
            p->pos++;
            continue;
        }
        if (peek(p) == ']') {
            p->pos++;
            break;
        }
        fail(p, peek(p) < 0 ? "unterminated array" : "expected ',' or ']' in array");
        goto error;
    }
    p->depth--;
    return arr;
error:
    json_free(arr);
    return NULL;
}

static json_value *parse_object(parser *p)
{
    json_value *obj = json_new_object();
    strbuf key;

    if (!obj || enter(p) != 0) {
        if (!obj)
            fail(p, "out of memory");
        json_free(obj);
        return NULL;
    }
    strbuf_init(&key);
    p->pos++; /* { */
    skip_ws(p);
    if (peek(p) == '}') {
        p->pos++;
        p->depth--;
        return obj;
    }
    for (;;) {
        json_value *value;

        skip_ws(p);
        if (peek(p) == '}' && (p->flags & JSON_PARSE_TRAILING_COMMAS) && obj->u.object.len > 0) {
            p->pos++;
            break;
        }
        if (peek(p) != '"') {
            fail(p, peek(p) < 0 ? "unterminated object" : "expected string key in object");
            goto error;
        }
        strbuf_reset(&key);
        if (parse_string_into(p, &key) != 0)
            goto error;
        skip_ws(p);
        if (peek(p) != ':') {
            fail(p, "expected ':' after object key");
            goto error;
        }
        p->pos++;
        value = parse_value(p);
        if (!value)
            goto error;
        if (json_object_set(obj, key.data ? key.data : "", key.len, value) != 0) {
            json_free(value);
            fail(p, "out of memory");
            goto error;
        }
        skip_ws(p);
        if (peek(p) == ',') {
            p->pos++;
            continue;
        }
        if (peek(p) == '}') {
            p->pos++;
            break;
        }
        fail(p, peek(p) < 0 ? "unterminated object" : "expected ',' or '}' in object");
        goto error;
    }
    strbuf_free(&key);
    p->depth--;
    return obj;
error:
    strbuf_free(&key);
    json_free(obj);
    return NULL;
}

static json_value *parse_value(parser *p)
{
    int c;

    skip_ws(p);
    if (p->failed)
        return NULL;
    c = peek(p);
    switch (c) {
    case '{':
        return parse_object(p);
    case '[':
        return parse_array(p);
    case '"':
        return parse_string(p);
    case 't':
        if (match_word(p, "true"))
            return json_new_bool(1);
        break;
    case 'f':
        if (match_word(p, "false"))
            return json_new_bool(0);
        break;
    case 'n':
        if (match_word(p, "null"))
            return json_new_null();
        break;
    case -1:
        fail(p, "unexpected end of input");
        return NULL;
    default:
        if (c == '-' || is_digit(c))
            return parse_number(p);
        break;
    }
    fail(p, "unexpected character");
    return NULL;
}

json_value *json_parse(const char *text, size_t len, int flags, json_error *err)
{
    parser p;
    json_value *v;

    memset(&p, 0, sizeof p);
    p.text = text;
    p.len = len;
    p.flags = flags;
    p.err = err;
    /* Skip a UTF-8 byte order mark. */
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        p.pos = 3;
    v = parse_value(&p);
    if (v) {
        skip_ws(&p);
        if (!p.failed && p.pos != p.len)
            fail(&p, "unexpected data after document");
        if (p.failed) {
            json_free(v);
            v = NULL;
        }
    }
    return v;
}
