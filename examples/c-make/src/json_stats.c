/* json_stats.c - structural statistics about a document. */
#include "json.h"

#include <string.h>

static void walk(const json_value *v, json_stats *st, size_t depth)
{
    size_t i;

    st->count[v->type]++;
    if (depth > st->max_depth)
        st->max_depth = depth;
    switch (v->type) {
    case JSON_STRING:
        st->string_bytes += v->u.string.len;
        break;
    case JSON_ARRAY:
        if (v->u.array.len > st->longest_array)
            st->longest_array = v->u.array.len;
        for (i = 0; i < v->u.array.len; i++)
            walk(v->u.array.items[i], st, depth + 1);
        break;
    case JSON_OBJECT:
        st->members += v->u.object.len;
        if (v->u.object.len > st->widest_object)
            st->widest_object = v->u.object.len;
        for (i = 0; i < v->u.object.len; i++) {
            st->string_bytes += v->u.object.members[i].key_len;
            walk(v->u.object.members[i].value, st, depth + 1);
        }
        break;
    default:
        break;
    }
}

void json_compute_stats(const json_value *v, json_stats *st)
{
    memset(st, 0, sizeof *st);
    walk(v, st, 1);
}

void json_format_stats(strbuf *out, const json_stats *st)
{
    size_t total = 0;
    int t;

    for (t = JSON_NULL; t <= JSON_OBJECT; t++)
        total += st->count[t];
    strbuf_printf(out, "values:         %lu\n", (unsigned long)total);
    for (t = JSON_OBJECT; t >= JSON_NULL; t--)
        strbuf_printf(out, "  %-12s %lu\n", json_type_name((json_type)t), (unsigned long)st->count[t]);
    strbuf_printf(out, "members:        %lu\n", (unsigned long)st->members);
    strbuf_printf(out, "max depth:      %lu\n", (unsigned long)st->max_depth);
    strbuf_printf(out, "longest array:  %lu\n", (unsigned long)st->longest_array);
    strbuf_printf(out, "widest object:  %lu\n", (unsigned long)st->widest_object);
    strbuf_printf(out, "string bytes:   %lu\n", (unsigned long)st->string_bytes);
}
