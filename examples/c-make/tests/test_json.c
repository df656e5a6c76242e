/* test_json.c - unit tests for libjsonq. Run by `make check`. */
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;
static int checks;

#define CHECK(cond)                                                                 \
    do {                                                                            \
        checks++;                                                                   \
        if (!(cond)) {                                                              \
            failures++;                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                           \
    } while (0)

#define CHECK_STR(got, want)                                                          \
    do {                                                                              \
        const char *g_ = (got), *w_ = (want);                                         \
        checks++;                                                                     \
        if (strcmp(g_, w_) != 0) {                                                    \
            failures++;                                                               \
            fprintf(stderr, "%s:%d: got\n  %s\nwant\n  %s\n", __FILE__, __LINE__, g_, w_); \
        }                                                                             \
    } while (0)

static json_value *parse(const char *s)
{
    json_error e;
    json_value *v = json_parse(s, strlen(s), 0, &e);

    if (!v)
        fprintf(stderr, "unexpected parse error in %s: %d:%d %s\n", s, e.line, e.column, e.message);
    return v;
}

/* Serialises v with the given indent into a static buffer. */
static const char *dump(const json_value *v, int indent, int sort, int ascii)
{
    static char buf[4096];
    json_write_options o;
    strbuf sb;

    o.indent = indent;
    o.sort_keys = sort;
    o.ascii = ascii;
    strbuf_init(&sb);
    json_write(&sb, v, &o);
    snprintf(buf, sizeof buf, "%s", sb.data ? sb.data : "");
    strbuf_free(&sb);
    return buf;
}

static const char *roundtrip(const char *s)
{
    static char buf[4096];
    json_value *v = parse(s);

    if (!v)
        return "<parse error>";
    snprintf(buf, sizeof buf, "%s", dump(v, 0, 0, 0));
    json_free(v);
    return buf;
}

static void test_scalars(void)
{
    CHECK_STR(roundtrip("null"), "null");
    CHECK_STR(roundtrip(" true "), "true");
    CHECK_STR(roundtrip("\tfalse\n"), "false");
    CHECK_STR(roundtrip("-0.5e+10"), "-0.5e+10");
    CHECK_STR(roundtrip("123456789012345678901234567890"), "123456789012345678901234567890");
    CHECK_STR(roundtrip("\"\""), "\"\"");
    CHECK_STR(roundtrip("\xEF\xBB\xBF[1]"), "[1]");
}

static void test_strings(void)
{
    CHECK_STR(roundtrip("\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\""), "\"a\\\"b\\\\c/d\\b\\f\\n\\r\\t\"");
    CHECK_STR(roundtrip("\"\\u0041\\u00e9\\u20AC\""), "\"A\xC3\xA9\xE2\x82\xAC\"");
    CHECK_STR(roundtrip("\"\\ud83d\\ude80\""), "\"\xF0\x9F\x9A\x80\"");
    CHECK_STR(roundtrip("\"\\u0000x\\u001f\""), "\"\\u0000x\\u001f\"");
    {
        json_value *v = parse("\"\\u0000\"");
        CHECK(v && v->u.string.len == 1 && v->u.string.data[0] == '\0');
        json_free(v);
    }
    {
        json_value *v = parse("\"caf\xC3\xA9 \xF0\x9F\x9A\x80\"");
        CHECK_STR(dump(v, 0, 0, 1), "\"caf\\u00e9 \\ud83d\\ude80\"");
        json_free(v);
    }
}

static void test_containers(void)
{
    json_value *v;

    CHECK_STR(roundtrip("[ ]"), "[]");
    CHECK_STR(roundtrip("{ }"), "{}");
    CHECK_STR(roundtrip("[1, [2, []], {\"a\": {}}]"), "[1,[2,[]],{\"a\":{}}]");
    CHECK_STR(roundtrip("{\"b\":1,\"a\":2,\"b\":3}"), "{\"b\":3,\"a\":2}");

    v = parse("{\"b\":[1,2],\"a\":{\"y\":null,\"x\":true},\"\":\"empty\"}");
    CHECK_STR(dump(v, 2, 0, 0),
              "{\n  \"b\": [\n    1,\n    2\n  ],\n  \"a\": {\n    \"y\": null,\n    \"x\": true\n  },\n  \"\": \"empty\"\n}");
    CHECK_STR(dump(v, 0, 1, 0), "{\"\":\"empty\",\"a\":{\"x\":true,\"y\":null},\"b\":[1,2]}");
    CHECK_STR(dump(v, 1, 1, 0), "{\n \"\": \"empty\",\n \"a\": {\n  \"x\": true,\n  \"y\": null\n },\n \"b\": [\n  1,\n  2\n ]\n}");
    json_free(v);
}

static void check_error(const char *text, int flags, int line, int col, const char *msg)
{
    json_error e;
    json_value *v = json_parse(text, strlen(text), flags, &e);

    checks++;
    if (v) {
        failures++;
        fprintf(stderr, "expected error for %s\n", text);
        json_free(v);
        return;
    }
    if (e.line != line || e.column != col || strcmp(e.message, msg) != 0) {
        failures++;
        fprintf(stderr, "input %s: got %d:%d %s, want %d:%d %s\n", text, e.line, e.column, e.message, line, col,
                msg);
    }
}

static void test_errors(void)
{
    check_error("", 0, 1, 1, "unexpected end of input");
    check_error("[1,2", 0, 1, 5, "unterminated array");
    check_error("[1 2]", 0, 1, 4, "expected ',' or ']' in array");
    check_error("{\"a\" 1}", 0, 1, 6, "expected ':' after object key");
    check_error("{a:1}", 0, 1, 2, "expected string key in object");
    check_error("{\"a\":1,}", 0, 1, 8, "expected string key in object");
    check_error("[1,]", 0, 1, 4, "unexpected character");
    check_error("01", 0, 1, 2, "leading zeros are not allowed");
    check_error("1.", 0, 1, 3, "expected digit after decimal point");
    check_error("1e+", 0, 1, 4, "expected digit in exponent");
    check_error("-", 0, 1, 2, "expected digit");
    check_error("tru", 0, 1, 1, "unexpected character");
    check_error("\"abc", 0, 1, 5, "unterminated string");
    check_error("\"a\tb\"", 0, 1, 3, "control character in string must be escaped");
    check_error("\"\\x\"", 0, 1, 2, "invalid escape sequence");
    check_error("\"\\u12G4\"", 0, 1, 6, "invalid hex digit in \\u escape");
    check_error("\"\\ud800\"", 0, 1, 2, "unpaired high surrogate");
    check_error("\"\\udc00\"", 0, 1, 2, "unpaired low surrogate");
    check_error("\"\xC3\x28\"", 0, 1, 2, "invalid UTF-8 in string");
    check_error("\"\xED\xA0\x80\"", 0, 1, 2, "invalid UTF-8 in string");
    check_error("\"\xC0\xAF\"", 0, 1, 2, "invalid UTF-8 in string");
    check_error("{}\n\n  x", 0, 3, 3, "unexpected data after document");
    check_error("[1, /* c */ 2]", 0, 1, 5, "unexpected character");
    check_error("[1 /* open", JSON_PARSE_COMMENTS, 1, 4, "unterminated comment");
}

static void test_depth_limit(void)
{
    char deep[2 * JSON_MAX_DEPTH + 8];
    size_t n = JSON_MAX_DEPTH;
    json_error e;
    json_value *v;

    memset(deep, '[', n);
    memset(deep + n, ']', n);
    v = json_parse(deep, 2 * n, 0, &e);
    CHECK(v != NULL);
    json_free(v);
    memset(deep, '[', n + 1);
    memset(deep + n + 1, ']', n + 1);
    v = json_parse(deep, 2 * n + 2, 0, &e);
    CHECK(v == NULL && strcmp(e.message, "document nested too deeply") == 0);
}

static void test_lenient(void)
{
    const char *src = "// config\n{\"a\": [1, 2,], /* note */ \"b\": {\"c\": 3,},}\n";
    json_error e;
    json_value *v = json_parse(src, strlen(src), JSON_PARSE_COMMENTS | JSON_PARSE_TRAILING_COMMAS, &e);

    CHECK(v != NULL);
    if (v)
        CHECK_STR(dump(v, 0, 0, 0), "{\"a\":[1,2],\"b\":{\"c\":3}}");
    json_free(v);
    check_error("[,]", JSON_PARSE_TRAILING_COMMAS, 1, 2, "unexpected character");
}

static const char *query(const json_value *doc, const char *q)
{
    static char buf[4096];
    json_results r;
    char err[160];
    strbuf sb;
    size_t i;

    if (json_query(doc, q, &r, err, sizeof err) != 0) {
        snprintf(buf, sizeof buf, "ERROR %s", err);
        return buf;
    }
    strbuf_init(&sb);
    for (i = 0; i < r.len; i++) {
        if (i)
            strbuf_putc(&sb, ' ');
        json_write(&sb, r.items[i], &(json_write_options){0, 0, 0});
    }
    snprintf(buf, sizeof buf, "%s", sb.data ? sb.data : "");
    strbuf_free(&sb);
    json_results_free(&r);
    return buf;
}

static void test_queries(void)
{
    json_value *doc = parse("{\"items\":[{\"id\":1,\"name\":\"a\",\"tags\":[\"x\"]},{\"id\":2,\"name\":\"b\"},"
                            "{\"id\":3,\"sub\":{\"id\":4}}],\"a b\":\"spaced\",\"n\":null,\"s\":\"h\xC3\xA9llo\"}");

    CHECK_STR(query(doc, "."), dump(doc, 0, 0, 0));
    CHECK_STR(query(doc, ".items[0].name"), "\"a\"");
    CHECK_STR(query(doc, ".items[-1].sub.id"), "4");
    CHECK_STR(query(doc, ".items[].id"), "1 2 3");
    CHECK_STR(query(doc, ".items[].name"), "\"a\" \"b\"");
    CHECK_STR(query(doc, "..id"), "1 2 3 4");
    CHECK_STR(query(doc, ".items[1:].id"), "2 3");
    CHECK_STR(query(doc, ".items[:-2].id"), "1");
    CHECK_STR(query(doc, ".items[5]"), "");
    CHECK_STR(query(doc, ".\"a b\""), "\"spaced\"");
    CHECK_STR(query(doc, "[\"a b\"]"), "\"spaced\"");
    CHECK_STR(query(doc, ".items[0].*"), "1 \"a\" [\"x\"]");
    CHECK_STR(query(doc, ".items | length"), "3");
    CHECK_STR(query(doc, ".s | length"), "5");
    CHECK_STR(query(doc, ".n | length"), "0");
    CHECK_STR(query(doc, ". | keys"), "[\"a b\",\"items\",\"n\",\"s\"]");
    CHECK_STR(query(doc, ".items | keys"), "[0,1,2]");
    CHECK_STR(query(doc, ".items[] | keys | length"), "3 2 2");
    CHECK_STR(query(doc, ". | keys [1]"), "\"items\"");
    CHECK_STR(query(doc, "..name | type"), "\"string\" \"string\"");
    CHECK_STR(query(doc, "  .items [0] .id  "), "1");
    CHECK_STR(query(doc, ".items[0].id | length"), "ERROR query error at offset 15: number has no length");
    CHECK_STR(query(doc, ".items[x]"), "ERROR query error at offset 7: expected integer");
    CHECK_STR(query(doc, ".items[0"), "ERROR query error at offset 8: expected ']'");
    CHECK_STR(query(doc, ". | frob"), "ERROR query error at offset 4: unknown function (expected length, keys or type)");
    CHECK_STR(query(doc, ".\"open"), "ERROR query error at offset 1: unterminated quoted name");
    CHECK_STR(query(doc, ".items ! x"), "ERROR query error at offset 7: unexpected character");
    json_free(doc);
}

static void test_model(void)
{
    json_value *a = parse("{\"x\":[1,{\"y\":\"z\"}],\"w\":false}");
    json_value *b = parse("{\"w\":false,\"x\":[1,{\"y\":\"z\"}]}");
    json_value *c = json_clone(a);
    json_value *d = parse("{\"w\":false,\"x\":[1.0,{\"y\":\"z\"}]}");
    json_value *arr = json_new_array();
    long long n = 0;

    CHECK(json_equal(a, b) && json_equal(a, c) && !json_equal(a, d));
    CHECK(json_object_get(a, "w", 1) != NULL && json_object_get(a, "q", 1) == NULL);
    CHECK(json_array_get(json_object_get(a, "x", 1), -1)->type == JSON_OBJECT);
    CHECK(json_array_get(json_object_get(a, "x", 1), 2) == NULL);
    json_array_push(arr, json_new_int(-9223372036854775807LL - 1));
    json_array_push(arr, json_new_number("42", 2));
    json_array_push(arr, json_new_number("4.2", 3));
    json_array_push(arr, json_new_number("99999999999999999999", 20));
    CHECK(json_number_to_int(json_array_get(arr, 0), &n) == 0 && n == -9223372036854775807LL - 1);
    CHECK(json_number_to_int(json_array_get(arr, 1), &n) == 0 && n == 42);
    CHECK(json_number_to_int(json_array_get(arr, 2), &n) != 0);
    CHECK(json_number_to_int(json_array_get(arr, 3), &n) != 0);
    CHECK_STR(dump(arr, 0, 0, 0), "[-9223372036854775808,42,4.2,99999999999999999999]");
    CHECK_STR(json_type_name(JSON_OBJECT), "object");
    json_free(a);
    json_free(b);
    json_free(c);
    json_free(d);
    json_free(arr);
}

static void test_stats(void)
{
    json_value *v = parse("{\"a\":[1,2,{\"b\":\"cd\"}],\"e\":null}");
    json_stats st;
    strbuf sb;

    json_compute_stats(v, &st);
    CHECK(st.count[JSON_OBJECT] == 2 && st.count[JSON_ARRAY] == 1 && st.count[JSON_NUMBER] == 2);
    CHECK(st.count[JSON_STRING] == 1 && st.count[JSON_NULL] == 1 && st.members == 3);
    CHECK(st.max_depth == 4 && st.longest_array == 3 && st.widest_object == 2 && st.string_bytes == 5);
    strbuf_init(&sb);
    json_format_stats(&sb, &st);
    CHECK(strncmp(sb.data, "values:         7\n  object       2\n", 35) == 0);
    strbuf_free(&sb);
    json_free(v);
}

static void test_strbuf_and_utf8(void)
{
    strbuf sb;
    size_t len;
    char *s;

    strbuf_init(&sb);
    strbuf_printf(&sb, "%d-%s", 42, "x");
    strbuf_repeat(&sb, '.', 3);
    strbuf_putc(&sb, '!');
    CHECK_STR(sb.data, "42-x...!");
    s = strbuf_detach(&sb, &len);
    CHECK(len == 8 && sb.data == NULL);
    free(s);
    CHECK(json_utf8_valid_prefix((const unsigned char *)"ok\xE2\x82\xAC", 5) == 5);
    CHECK(json_utf8_valid_prefix((const unsigned char *)"ok\xE2\x82", 4) == 2);
    CHECK(json_utf8_valid_prefix((const unsigned char *)"\xF4\x90\x80\x80", 4) == 0);
}

int main(void)
{
    test_scalars();
    test_strings();
    test_containers();
    test_errors();
    test_depth_limit();
    test_lenient();
    test_queries();
    test_model();
    test_stats();
    test_strbuf_and_utf8();
    if (failures) {
        fprintf(stderr, "%d of %d checks failed\n", failures, checks);
        return 1;
    }
    printf("test_json: all %d checks passed\n", checks);
    return 0;
}
