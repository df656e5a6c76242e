/* json.h - a small, strict RFC 8259 JSON library.
 *
 * Values form a tree of heap-allocated nodes. Objects keep their members in
 * document order; numbers keep their original text so that printing a
 * document never changes a number's digits (no floating point anywhere).
 */
#ifndef JSONQ_JSON_H
#define JSONQ_JSON_H

#include <stddef.h>

#include "strbuf.h"

#define JSONQ_VERSION "1.4.0"

typedef enum {
    JSON_NULL,
    JSON_BOOL,
    JSON_NUMBER,
    JSON_STRING,
    JSON_ARRAY,
    JSON_OBJECT
} json_type;

typedef struct json_value json_value;

typedef struct {
    char *key;       /* UTF-8, NUL terminated (may also contain NULs) */
    size_t key_len;
    json_value *value;
} json_member;

struct json_value {
    json_type type;
    union {
        int boolean;
        struct {
            char *text; /* the literal as written, e.g. "-1.5e3" */
            size_t len;
        } number;
        struct {
            char *data; /* UTF-8, NUL terminated (may also contain NULs) */
            size_t len;
        } string;
        struct {
            json_value **items;
            size_t len, cap;
        } array;
        struct {
            json_member *members;
            size_t len, cap;
        } object;
    } u;
};

/* ---- construction and access (json.c) ---- */
json_value *json_new_null(void);
json_value *json_new_bool(int b);
json_value *json_new_number(const char *text, size_t len); /* text must be valid */
json_value *json_new_int(long long n);
json_value *json_new_string(const char *data, size_t len);
json_value *json_new_array(void);
json_value *json_new_object(void);
void json_free(json_value *v);
json_value *json_clone(const json_value *v);

/* Appends item (taking ownership). Returns 0 or -1 on allocation failure. */
int json_array_push(json_value *arr, json_value *item);
/* Sets key to value (taking ownership of value). An existing member with
 * the same key keeps its position and gets the new value. */
int json_object_set(json_value *obj, const char *key, size_t key_len, json_value *value);
json_value *json_object_get(const json_value *obj, const char *key, size_t key_len);
json_value *json_array_get(const json_value *arr, long long index); /* negative counts from the end */

const char *json_type_name(json_type t);
int json_equal(const json_value *a, const json_value *b);
/* Parses an integer-valued number literal; returns 0 on success. */
int json_number_to_int(const json_value *v, long long *out);

/* ---- parsing (json_parse.c) ---- */
enum {
    JSON_PARSE_COMMENTS = 1 << 0,        /* allow // and block comments */
    JSON_PARSE_TRAILING_COMMAS = 1 << 1, /* allow [1,2,] and {"a":1,} */
};

#define JSON_MAX_DEPTH 512

typedef struct {
    size_t offset;  /* byte offset of the error */
    int line;       /* 1-based */
    int column;     /* 1-based, counted in bytes */
    char message[96];
} json_error;

json_value *json_parse(const char *text, size_t len, int flags, json_error *err);
/* Validates that data is well-formed UTF-8 without surrogates/overlongs.
 * Returns the length of the valid prefix (== len when all valid). */
size_t json_utf8_valid_prefix(const unsigned char *data, size_t len);

/* ---- writing (json_write.c) ---- */
typedef struct {
    int indent;    /* spaces per level; 0 writes compact output */
    int sort_keys; /* sort object members by key (byte order) */
    int ascii;     /* escape every non-ASCII character as \uXXXX */
} json_write_options;

void json_write(strbuf *out, const json_value *v, const json_write_options *opts);
void json_write_string(strbuf *out, const char *s, size_t len, int ascii);

/* ---- queries (json_query.c) ----
 *
 *   .key  ."quoted key"  [3]  [-1]  [1:3]  []  .*  ..key  | length | keys | type
 */
typedef struct {
    const json_value **items; /* borrowed from the document or from owned */
    size_t len, cap;
    json_value **owned;       /* values created by the query (e.g. length) */
    size_t owned_len, owned_cap;
} json_results;

void json_results_free(json_results *r);
/* Runs query against doc. Returns 0, or -1 with a message in err. */
int json_query(const json_value *doc, const char *query, json_results *out, char *err, size_t errlen);

/* ---- statistics (json_stats.c) ---- */
typedef struct {
    size_t count[6];     /* indexed by json_type */
    size_t members;      /* object members in total */
    size_t max_depth;    /* 1 for a scalar document */
    size_t string_bytes; /* bytes in string values and keys */
    size_t longest_array;
    size_t widest_object;
} json_stats;

void json_compute_stats(const json_value *v, json_stats *st);
void json_format_stats(strbuf *out, const json_stats *st);

#endif
