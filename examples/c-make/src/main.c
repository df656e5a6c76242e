/* main.c - jsonq: validate, pretty-print, query and summarise JSON. */
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "Usage: jsonq [OPTIONS] [FILE]\n"
    "\n"
    "Reads a JSON document from FILE (or standard input when FILE is absent\n"
    "or '-') and pretty-prints it, or prints the values selected by a query.\n"
    "\n"
    "Options:\n"
    "  -q, --query PATH     print the values selected by PATH, one per line\n"
    "                       (e.g. '.items[].name', '..id', '.tags | length')\n"
    "  -c, --compact        compact output\n"
    "  -i, --indent N       indent by N spaces (0-8, default 2)\n"
    "  -S, --sort-keys      sort object members by key\n"
    "  -a, --ascii          escape non-ASCII characters\n"
    "  -r, --raw            print string results without quotes\n"
    "  -s, --stats          print statistics about the document\n"
    "      --validate       only check the document; print 'valid'\n"
    "      --lenient        accept comments and trailing commas\n"
    "  -V, --version        print the version\n"
    "  -h, --help           print this help\n";

typedef struct {
    const char *file;
    const char *query;
    json_write_options wopts;
    int raw;
    int stats;
    int validate;
    int parse_flags;
} options;

static int usage_error(const char *msg, const char *arg)
{
    fprintf(stderr, "jsonq: %s%s%s\n\n%s", msg, arg ? " " : "", arg ? arg : "", usage);
    return 2;
}

/* Returns -1 to continue, otherwise an exit status. */
static int parse_args(int argc, char **argv, options *o)
{
    int i;

    memset(o, 0, sizeof *o);
    o->wopts.indent = 2;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage, stdout);
            return 0;
        } else if (!strcmp(a, "-V") || !strcmp(a, "--version")) {
            printf("jsonq %s\n", JSONQ_VERSION);
            return 0;
        } else if (!strcmp(a, "-q") || !strcmp(a, "--query")) {
            if (++i >= argc)
                return usage_error("missing argument for", a);
            o->query = argv[i];
        } else if (!strcmp(a, "-i") || !strcmp(a, "--indent")) {
            char *end;
            long n;
            if (++i >= argc)
                return usage_error("missing argument for", a);
            n = strtol(argv[i], &end, 10);
            if (*argv[i] == '\0' || *end != '\0' || n < 0 || n > 8)
                return usage_error("indent must be between 0 and 8, got", argv[i]);
            o->wopts.indent = (int)n;
        } else if (!strcmp(a, "-c") || !strcmp(a, "--compact")) {
            o->wopts.indent = 0;
        } else if (!strcmp(a, "-S") || !strcmp(a, "--sort-keys")) {
            o->wopts.sort_keys = 1;
        } else if (!strcmp(a, "-a") || !strcmp(a, "--ascii")) {
            o->wopts.ascii = 1;
        } else if (!strcmp(a, "-r") || !strcmp(a, "--raw")) {
            o->raw = 1;
        } else if (!strcmp(a, "-s") || !strcmp(a, "--stats")) {
            o->stats = 1;
        } else if (!strcmp(a, "--validate")) {
            o->validate = 1;
        } else if (!strcmp(a, "--lenient")) {
            o->parse_flags |= JSON_PARSE_COMMENTS | JSON_PARSE_TRAILING_COMMAS;
        } else if (a[0] == '-' && a[1] != '\0') {
            return usage_error("unknown option", a);
        } else if (o->file) {
            return usage_error("only one FILE may be given; extra:", a);
        } else {
            o->file = a;
        }
    }
    if (!o->file)
        o->file = "-";
    return -1;
}

static int read_all(const char *name, strbuf *sb)
{
    FILE *f = strcmp(name, "-") == 0 ? stdin : fopen(name, "rb");
    char buf[16384];
    size_t n;
    int err;

    if (!f) {
        perror(name);
        return -1;
    }
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        strbuf_append(sb, buf, n);
    err = ferror(f);
    if (f != stdin)
        fclose(f);
    if (err || sb->failed) {
        fprintf(stderr, "jsonq: %s: %s\n", name, err ? "read error" : "out of memory");
        return -1;
    }
    return 0;
}

static int emit(strbuf *out, FILE *f)
{
    if (out->failed) {
        fputs("jsonq: out of memory\n", stderr);
        return -1;
    }
    if (out->len && fwrite(out->data, 1, out->len, f) != out->len)
        return -1;
    strbuf_reset(out);
    return 0;
}

static int run(const options *o)
{
    strbuf input, out;
    json_error err;
    json_value *doc;
    int status = 0;
    const char *display = strcmp(o->file, "-") == 0 ? "<stdin>" : o->file;

    strbuf_init(&input);
    strbuf_init(&out);
    if (read_all(o->file, &input) != 0) {
        strbuf_free(&input);
        return 1;
    }
    doc = json_parse(input.data ? input.data : "", input.len, o->parse_flags, &err);
    if (!doc) {
        fprintf(stderr, "jsonq: %s:%d:%d: %s\n", display, err.line, err.column, err.message);
        strbuf_free(&input);
        return 1;
    }
    if (o->validate) {
        strbuf_puts(&out, "valid\n");
    } else if (o->stats) {
        json_stats st;
        json_compute_stats(doc, &st);
        json_format_stats(&out, &st);
    } else if (o->query) {
        json_results res;
        char qerr[160];
        size_t i;
        if (json_query(doc, o->query, &res, qerr, sizeof qerr) != 0) {
            fprintf(stderr, "jsonq: %s\n", qerr);
            status = 1;
        } else {
            for (i = 0; i < res.len; i++) {
                const json_value *v = res.items[i];
                if (o->raw && v->type == JSON_STRING)
                    strbuf_append(&out, v->u.string.data, v->u.string.len);
                else
                    json_write(&out, v, &o->wopts);
                strbuf_putc(&out, '\n');
                if (out.len > 65536 && emit(&out, stdout) != 0)
                    status = 1;
            }
            json_results_free(&res);
        }
    } else {
        json_write(&out, doc, &o->wopts);
        strbuf_putc(&out, '\n');
    }
    if (emit(&out, stdout) != 0 || fflush(stdout) != 0) {
        fputs("jsonq: write error\n", stderr);
        status = 1;
    }
    json_free(doc);
    strbuf_free(&out);
    strbuf_free(&input);
    return status;
}

int main(int argc, char **argv)
{
    options o;
    int rc = parse_args(argc, argv, &o);

    if (rc >= 0)
        return rc;
    return run(&o);
}
