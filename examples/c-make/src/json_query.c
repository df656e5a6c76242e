/* json_query.c - a small path language for selecting values.
 *
 *   .            the document itself
 *   .name        member "name" of every object
 *   ."a b"       member with a quoted name (JSON string syntax)
 *   ["a b"]      the same
 *   [2] [-1]     array element, negative indexes count from the end
 *   [1:3] [:2]   array elements 1 and 2 / the first two elements
 *   [] .*        every element or member value
 *   ..name       member "name" of the document and all its descendants
 *   | length     element count, member count or string length in characters
 *   | keys       sorted member names of objects, indexes of arrays
 *   | type       type name as a string
 *
 * Missing members and out-of-range indexes select nothing.
 */
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *q;
    size_t pos;
    char *err;
    size_t errlen;
    int failed;
} qparser;

static void qfail(qparser *p, const char *msg)
{
    if (!p->failed && p->err && p->errlen)
        snprintf(p->err, p->errlen, "query error at offset %lu: %s", (unsigned long)p->pos, msg);
    p->failed = 1;
}

static int results_push(json_results *r, const json_value *v)
{
    if (r->len == r->cap) {
        size_t ncap = r->cap ? r->cap * 2 : 8;
        const json_value **p = realloc(r->items, ncap * sizeof *p);
        if (!p)
            return -1;
        r->items = p;
        r->cap = ncap;
    }
    r->items[r->len++] = v;
    return 0;
}

static int results_own(json_results *r, json_value *v)
{
    if (!v)
        return -1;
    if (r->owned_len == r->owned_cap) {
        size_t ncap = r->owned_cap ? r->owned_cap * 2 : 8;
        json_value **p = realloc(r->owned, ncap * sizeof *p);
        if (!p) {
            json_free(v);
            return -1;
        }
        r->owned = p;
        r->owned_cap = ncap;
    }
    r->owned[r->owned_len++] = v;
    return results_push(r, v);
}

void json_results_free(json_results *r)
{
    size_t i;

    for (i = 0; i < r->owned_len; i++)
        json_free(r->owned[i]);
    free(r->owned);
    free(r->items);
    memset(r, 0, sizeof *r);
}

/* Moves the owned values of src into dst (so they outlive src). */
static int adopt_owned(json_results *dst, json_results *src)
{
    size_t i;

    for (i = 0; i < src->owned_len; i++) {
        if (dst->owned_len == dst->owned_cap) {
            size_t ncap = dst->owned_cap ? dst->owned_cap * 2 : 8;
            json_value **p = realloc(dst->owned, ncap * sizeof *p);
            if (!p)
                return -1;
            dst->owned = p;
            dst->owned_cap = ncap;
        }
        dst->owned[dst->owned_len++] = src->owned[i];
    }
    src->owned_len = 0;
    return 0;
}

static int is_ident_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$';
}

static int is_ident_char(char c)
{
    return is_ident_start(c) || (c >= '0' && c <= '9') || c == '-';
}

static void skip_spaces(qparser *p)
{
    while (p->q[p->pos] == ' ' || p->q[p->pos] == '\t')
        p->pos++;
}

/* Parses a member name (identifier or JSON string) into *name (malloc'd). */
static int parse_name(qparser *p, char **name, size_t *len)
{
    if (p->q[p->pos] == '"') {
        size_t start = p->pos, end = p->pos + 1;
        json_error e;
        json_value *s;

        while (p->q[end] && p->q[end] != '"') {
            if (p->q[end] == '\\' && p->q[end + 1])
                end++;
            end++;
        }
        if (p->q[end] != '"') {
            qfail(p, "unterminated quoted name");
            return -1;
        }
        s = json_parse(p->q + start, end + 1 - start, 0, &e);
        if (!s) {
            qfail(p, "invalid quoted name");
            return -1;
        }
        *name = s->u.string.data;
        *len = s->u.string.len;
        s->u.string.data = NULL;
        free(s);
        p->pos = end + 1;
        return 0;
    }
    if (is_ident_start(p->q[p->pos])) {
        size_t start = p->pos;
        while (is_ident_char(p->q[p->pos]))
            p->pos++;
        *len = p->pos - start;
        *name = malloc(*len + 1);
        if (!*name) {
            qfail(p, "out of memory");
            return -1;
        }
        memcpy(*name, p->q + start, *len);
        (*name)[*len] = '\0';
        return 0;
    }
    qfail(p, "expected member name");
    return -1;
}

static int parse_int(qparser *p, long long *out)
{
    int neg = 0;
    long long v = 0;
    size_t start;

    if (p->q[p->pos] == '-') {
        neg = 1;
        p->pos++;
    }
    start = p->pos;
    while (p->q[p->pos] >= '0' && p->q[p->pos] <= '9') {
        if (v > 100000000000LL) {
            qfail(p, "index too large");
            return -1;
        }
        v = v * 10 + (p->q[p->pos] - '0');
        p->pos++;
    }
    if (p->pos == start) {
        qfail(p, "expected integer");
        return -1;
    }
    *out = neg ? -v : v;
    return 0;
}

static void select_member(const json_value *v, const char *name, size_t len, json_results *out, int *oom)
{
    const json_value *m = json_object_get(v, name, len);

    if (m && results_push(out, m) != 0)
        *oom = 1;
}

static void select_children(const json_value *v, json_results *out, int *oom)
{
    size_t i;

    if (v->type == JSON_ARRAY) {
        for (i = 0; i < v->u.array.len; i++)
            if (results_push(out, v->u.array.items[i]) != 0)
                *oom = 1;
    } else if (v->type == JSON_OBJECT) {
        for (i = 0; i < v->u.object.len; i++)
            if (results_push(out, v->u.object.members[i].value) != 0)
                *oom = 1;
    }
}

static void select_recursive(const json_value *v, const char *name, size_t len, json_results *out, int *oom)
{
    size_t i;

    select_member(v, name, len, out, oom);
    if (v->type == JSON_ARRAY) {
        for (i = 0; i < v->u.array.len; i++)
            select_recursive(v->u.array.items[i], name, len, out, oom);
    } else if (v->type == JSON_OBJECT) {
        for (i = 0; i < v->u.object.len; i++)
            select_recursive(v->u.object.members[i].value, name, len, out, oom);
    }
}

static void select_slice(const json_value *v, int has_lo, long long lo, int has_hi, long long hi,
                         json_results *out, int *oom)
{
    long long n, i;

    if (v->type != JSON_ARRAY)
        return;
    n = (long long)v->u.array.len;
    if (!has_lo)
        lo = 0;
    if (!has_hi)
        hi = n;
    if (lo < 0)
        lo += n;
    if (hi < 0)
        hi += n;
    if (lo < 0)
        lo = 0;
    if (hi > n)
        hi = n;
    for (i = lo; i < hi; i++)
        if (results_push(out, v->u.array.items[i]) != 0)
            *oom = 1;
}

static size_t utf8_length(const char *s, size_t len)
{
    size_t i, n = 0;

    for (i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            n++;
    return n;
}

static int key_cmp(const void *a, const void *b)
{
    const json_member *x = *(const json_member *const *)a;
    const json_member *y = *(const json_member *const *)b;
    size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
    int c = memcmp(x->key, y->key, n);

    return c ? c : (x->key_len > y->key_len) - (x->key_len < y->key_len);
}

static json_value *apply_function(qparser *p, const char *fn, const json_value *v)
{
    size_t i;

    if (strcmp(fn, "type") == 0) {
        const char *t = json_type_name(v->type);
        return json_new_string(t, strlen(t));
    }
    if (strcmp(fn, "length") == 0) {
        switch (v->type) {
        case JSON_ARRAY: return json_new_int((long long)v->u.array.len);
        case JSON_OBJECT: return json_new_int((long long)v->u.object.len);
        case JSON_STRING: return json_new_int((long long)utf8_length(v->u.string.data, v->u.string.len));
        case JSON_NULL: return json_new_int(0);
        default:
            qfail(p, v->type == JSON_NUMBER ? "number has no length" : "boolean has no length");
            return NULL;
        }
    }
    if (strcmp(fn, "keys") == 0) {
        json_value *arr = json_new_array();
        if (!arr)
            return NULL;
        if (v->type == JSON_ARRAY) {
            for (i = 0; i < v->u.array.len; i++)
                json_array_push(arr, json_new_int((long long)i));
        } else if (v->type == JSON_OBJECT) {
            const json_member **order = malloc((v->u.object.len + 1) * sizeof *order);
            if (!order) {
                json_free(arr);
                return NULL;
            }
            for (i = 0; i < v->u.object.len; i++)
                order[i] = &v->u.object.members[i];
            qsort(order, v->u.object.len, sizeof *order, key_cmp);
            for (i = 0; i < v->u.object.len; i++)
                json_array_push(arr, json_new_string(order[i]->key, order[i]->key_len));
            free(order);
        } else {
            json_free(arr);
            qfail(p, "keys needs an object or array");
            return NULL;
        }
        return arr;
    }
    qfail(p, "unknown function (expected length, keys or type)");
    return NULL;
}

int json_query(const json_value *doc, const char *query, json_results *out, char *err, size_t errlen)
{
    qparser p;
    json_results cur, next;
    int oom = 0;
    size_t i;

    memset(&p, 0, sizeof p);
    memset(&cur, 0, sizeof cur);
    memset(out, 0, sizeof *out);
    p.q = query;
    p.err = err;
    p.errlen = errlen;
    if (err && errlen)
        err[0] = '\0';
    if (results_push(&cur, doc) != 0)
        return -1;

    skip_spaces(&p);
    if (query[p.pos] == '.' && (query[p.pos + 1] == '\0' || query[p.pos + 1] == ' ' || query[p.pos + 1] == '|'))
        p.pos++; /* identity */
    while (!p.failed && !oom) {
        char c;

        skip_spaces(&p);
        c = query[p.pos];
        if (c == '\0')
            break;
        memset(&next, 0, sizeof next);
        if (c == '.' && query[p.pos + 1] == '.') {
            char *name;
            size_t len;
            p.pos += 2;
            if (parse_name(&p, &name, &len) != 0)
                break;
            for (i = 0; i < cur.len; i++)
                select_recursive(cur.items[i], name, len, &next, &oom);
            free(name);
        } else if (c == '.' && query[p.pos + 1] == '*') {
            p.pos += 2;
            for (i = 0; i < cur.len; i++)
                select_children(cur.items[i], &next, &oom);
        } else if (c == '.') {
            char *name;
            size_t len;
            p.pos++;
            if (parse_name(&p, &name, &len) != 0)
                break;
            for (i = 0; i < cur.len; i++)
                select_member(cur.items[i], name, len, &next, &oom);
            free(name);
        } else if (c == '[') {
            p.pos++;
            skip_spaces(&p);
            if (query[p.pos] == ']') {
                p.pos++;
                for (i = 0; i < cur.len; i++)
                    select_children(cur.items[i], &next, &oom);
            } else if (query[p.pos] == '"') {
                char *name;
                size_t len;
                if (parse_name(&p, &name, &len) != 0)
                    break;
                skip_spaces(&p);
                if (query[p.pos] != ']') {
                    free(name);
                    qfail(&p, "expected ']'");
                    break;
                }
                p.pos++;
                for (i = 0; i < cur.len; i++)
                    select_member(cur.items[i], name, len, &next, &oom);
                free(name);
            } else {
                long long lo = 0, hi = 0;
                int has_lo = 0, has_hi = 0, slice = 0;
                if (query[p.pos] != ':') {
                    if (parse_int(&p, &lo) != 0)
                        break;
                    has_lo = 1;
                }
                skip_spaces(&p);
                if (query[p.pos] == ':') {
                    slice = 1;
                    p.pos++;
                    skip_spaces(&p);
                    if (query[p.pos] != ']') {
                        if (parse_int(&p, &hi) != 0)
                            break;
                        has_hi = 1;
                    }
                }
                skip_spaces(&p);
                if (query[p.pos] != ']') {
                    qfail(&p, "expected ']'");
                    break;
                }
                p.pos++;
                for (i = 0; i < cur.len; i++) {
                    if (slice) {
                        select_slice(cur.items[i], has_lo, lo, has_hi, hi, &next, &oom);
                    } else {
                        const json_value *e = json_array_get(cur.items[i], lo);
                        if (e && results_push(&next, e) != 0)
                            oom = 1;
                    }
                }
            }
        } else if (c == '|') {
            char fn[16];
            size_t n = 0, fn_start, fn_end;
            p.pos++;
            skip_spaces(&p);
            fn_start = p.pos;
            while (is_ident_char(query[p.pos]) && n + 1 < sizeof fn)
                fn[n++] = query[p.pos++];
            fn[n] = '\0';
            if (n == 0) {
                qfail(&p, "expected function name after '|'");
                break;
            }
            /* Report function errors at the start of the name. */
            fn_end = p.pos;
            p.pos = fn_start;
            for (i = 0; i < cur.len && !p.failed; i++) {
                json_value *r = apply_function(&p, fn, cur.items[i]);
                if (r && results_own(&next, r) != 0)
                    oom = 1;
                else if (!r && !p.failed)
                    oom = 1;
            }
            if (!p.failed)
                p.pos = fn_end;
        } else {
            qfail(&p, "unexpected character");
            break;
        }
        /* Values created by earlier functions may still be referenced. */
        if (adopt_owned(&next, &cur) != 0)
            oom = 1;
        json_results_free(&cur);
        cur = next;
        memset(&next, 0, sizeof next);
        if (p.failed) {
            json_results_free(&cur);
            break;
        }
    }
    if (oom && !p.failed)
        qfail(&p, "out of memory");
    if (p.failed) {
        json_results_free(&cur);
        return -1;
    }
    *out = cur;
    return 0;
}
