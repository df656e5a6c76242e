/* json.c - value construction, ownership and comparison. */
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_value *alloc_value(json_type t)
{
    json_value *v = calloc(1, sizeof *v);

    if (v)
        v->type = t;
    return v;
}

static char *dup_bytes(const char *data, size_t len)
{
    char *p = malloc(len + 1);

    if (!p)
        return NULL;
    if (len)
        memcpy(p, data, len);
    p[len] = '\0';
    return p;
}

json_value *json_new_null(void)
{
    return alloc_value(JSON_NULL);
}

json_value *json_new_bool(int b)
{
    json_value *v = alloc_value(JSON_BOOL);

    if (v)
        v->u.boolean = b != 0;
    return v;
}

json_value *json_new_number(const char *text, size_t len)
{
    json_value *v = alloc_value(JSON_NUMBER);

    if (!v)
        return NULL;
    v->u.number.text = dup_bytes(text, len);
    if (!v->u.number.text) {
        free(v);
        return NULL;
    }
    v->u.number.len = len;
    return v;
}

json_value *json_new_int(long long n)
{
    char buf[32];
    int len = snprintf(buf, sizeof buf, "%lld", n);

    return json_new_number(buf, (size_t)len);
}

json_value *json_new_string(const char *data, size_t len)
{
    json_value *v = alloc_value(JSON_STRING);

    if (!v)
        return NULL;
    v->u.string.data = dup_bytes(data, len);
    if (!v->u.string.data) {
        free(v);
        return NULL;
    }
    v->u.string.len = len;
    return v;
}

json_value *json_new_array(void)
{
    return alloc_value(JSON_ARRAY);
}

json_value *json_new_object(void)
{
    return alloc_value(JSON_OBJECT);
}

void json_free(json_value *v)
{
    size_t i;

    if (!v)
        return;
    switch (v->type) {
    case JSON_NUMBER:
        free(v->u.number.text);
        break;
    case JSON_STRING:
        free(v->u.string.data);
        break;
    case JSON_ARRAY:
        for (i = 0; i < v->u.array.len; i++)
            json_free(v->u.array.items[i]);
        free(v->u.array.items);
        break;
    case JSON_OBJECT:
        for (i = 0; i < v->u.object.len; i++) {
            free(v->u.object.members[i].key);
            json_free(v->u.object.members[i].value);
        }
        free(v->u.object.members);
        break;
    case JSON_NULL:
    case JSON_BOOL:
        break;
    }
    free(v);
}

json_value *json_clone(const json_value *v)
{
    json_value *c = NULL;
    size_t i;

    switch (v->type) {
    case JSON_NULL:
        return json_new_null();
    case JSON_BOOL:
        return json_new_bool(v->u.boolean);
    case JSON_NUMBER:
        return json_new_number(v->u.number.text, v->u.number.len);
    case JSON_STRING:
        return json_new_string(v->u.string.data, v->u.string.len);
    case JSON_ARRAY:
        c = json_new_array();
        for (i = 0; c && i < v->u.array.len; i++) {
            json_value *item = json_clone(v->u.array.items[i]);
            if (!item || json_array_push(c, item) != 0) {
                json_free(item);
                json_free(c);
                return NULL;
            }
        }
        return c;
    case JSON_OBJECT:
        c = json_new_object();
        for (i = 0; c && i < v->u.object.len; i++) {
            const json_member *m = &v->u.object.members[i];
            json_value *item = json_clone(m->value);
            if (!item || json_object_set(c, m->key, m->key_len, item) != 0) {
                json_free(item);
                json_free(c);
                return NULL;
            }
        }
        return c;
    }
    return NULL;
}

static int grow(void **items, size_t *cap, size_t len, size_t elem)
{
    size_t ncap;
    void *p;

    if (len < *cap)
        return 0;
    ncap = *cap ? *cap * 2 : 4;
    if (ncap > ((size_t)-1) / elem)
        return -1;
    p = realloc(*items, ncap * elem);
    if (!p)
        return -1;
    *items = p;
    *cap = ncap;
    return 0;
}

int json_array_push(json_value *arr, json_value *item)
{
    void *items = arr->u.array.items;

    if (arr->type != JSON_ARRAY)
        return -1;
    if (grow(&items, &arr->u.array.cap, arr->u.array.len, sizeof(json_value *)) != 0)
        return -1;
    arr->u.array.items = items;
    arr->u.array.items[arr->u.array.len++] = item;
    return 0;
}

static json_member *find_member(const json_value *obj, const char *key, size_t key_len)
{
    size_t i;

    for (i = 0; i < obj->u.object.len; i++) {
        json_member *m = &obj->u.object.members[i];
        if (m->key_len == key_len && memcmp(m->key, key, key_len) == 0)
            return m;
    }
    return NULL;
}

int json_object_set(json_value *obj, const char *key, size_t key_len, json_value *value)
{
    json_member *m;
    void *members = obj->u.object.members;

    if (obj->type != JSON_OBJECT)
        return -1;
    m = find_member(obj, key, key_len);
    if (m) {
        json_free(m->value);
        m->value = value;
        return 0;
    }
    if (grow(&members, &obj->u.object.cap, obj->u.object.len, sizeof(json_member)) != 0)
        return -1;
    obj->u.object.members = members;
    m = &obj->u.object.members[obj->u.object.len];
    m->key = dup_bytes(key, key_len);
    if (!m->key)
        return -1;
    m->key_len = key_len;
    m->value = value;
    obj->u.object.len++;
    return 0;
}

json_value *json_object_get(const json_value *obj, const char *key, size_t key_len)
{
    json_member *m;

    if (!obj || obj->type != JSON_OBJECT)
        return NULL;
    m = find_member(obj, key, key_len);
    return m ? m->value : NULL;
}

json_value *json_array_get(const json_value *arr, long long index)
{
    long long n;

    if (!arr || arr->type != JSON_ARRAY)
        return NULL;
    n = (long long)arr->u.array.len;
    if (index < 0)
        index += n;
    if (index < 0 || index >= n)
        return NULL;
    return arr->u.array.items[index];
}

const char *json_type_name(json_type t)
{
    static const char *const names[] = {"null", "boolean", "number", "string", "array", "object"};

    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "invalid";
}

int json_equal(const json_value *a, const json_value *b)
{
    size_t i;

    if (a->type != b->type)
        return 0;
    switch (a->type) {
    case JSON_NULL:
        return 1;
    case JSON_BOOL:
        return a->u.boolean == b->u.boolean;
    case JSON_NUMBER:
        /* Textual comparison: 1.0 and 1 are different literals. */
        return a->u.number.len == b->u.number.len &&
               memcmp(a->u.number.text, b->u.number.text, a->u.number.len) == 0;
    case JSON_STRING:
        return a->u.string.len == b->u.string.len &&
               memcmp(a->u.string.data, b->u.string.data, a->u.string.len) == 0;
    case JSON_ARRAY:
        if (a->u.array.len != b->u.array.len)
            return 0;
        for (i = 0; i < a->u.array.len; i++)
            if (!json_equal(a->u.array.items[i], b->u.array.items[i]))
                return 0;
        return 1;
    case JSON_OBJECT:
        /* Member order is irrelevant for equality. */
        if (a->u.object.len != b->u.object.len)
            return 0;
        for (i = 0; i < a->u.object.len; i++) {
            const json_member *m = &a->u.object.members[i];
            const json_value *other = json_object_get(b, m->key, m->key_len);
            if (!other || !json_equal(m->value, other))
                return 0;
        }
        return 1;
    }
    return 0;
}

int json_number_to_int(const json_value *v, long long *out)
{
    const char *p;
    const char *end;
    int neg = 0;
    unsigned long long acc = 0;

    if (!v || v->type != JSON_NUMBER)
        return -1;
    p = v->u.number.text;
    end = p + v->u.number.len;
    if (p < end && *p == '-') {
        neg = 1;
        p++;
    }
    if (p == end)
        return -1;
    for (; p < end; p++) {
        unsigned d;
        if (*p < '0' || *p > '9')
            return -1; /* fraction or exponent */
        d = (unsigned)(*p - '0');
        if (acc > (9223372036854775808ULL - d) / 10)
            return -1;
        acc = acc * 10 + d;
    }
    if (!neg && acc > 9223372036854775807ULL)
        return -1;
    *out = neg ? (long long)(0 - acc) : (long long)acc;
    return 0;
}
