/* mdhtml.c - command line front end: Markdown in, HTML out. */
#include "md.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef MDHTML_VERSION
#define MDHTML_VERSION "unknown"
#endif

static const char usage[] =
    "Usage: mdhtml [OPTIONS] [FILE]\n"
    "\n"
    "Converts Markdown from FILE (or standard input when FILE is absent or\n"
    "'-') to HTML on standard output.\n"
    "\n"
    "Options:\n"
    "  -t, --toc            prepend a table of contents\n"
    "      --toc-depth N    deepest heading level in the contents (1-6, default 3)\n"
    "  -s, --standalone     write a complete HTML document\n"
    "      --title TEXT     document title for --standalone\n"
    "      --no-ids         do not add id attributes to headings\n"
    "      --tree           print the parsed block structure instead of HTML\n"
    "  -V, --version        print the version\n"
    "  -h, --help           print this help\n";

static int usage_error(const char *msg, const char *arg)
{
    fprintf(stderr, "mdhtml: %s%s%s\n\n%s", msg, arg ? " " : "", arg ? arg : "", usage);
    return 2;
}

static int read_input(const char *name, md_buf *in)
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
        md_buf_put(in, buf, n);
    err = ferror(f);
    if (f != stdin)
        fclose(f);
    if (err || in->failed) {
        fprintf(stderr, "mdhtml: %s: %s\n", name, err ? "read error" : "out of memory");
        return -1;
    }
    return 0;
}

static void dump_tree(md_buf *out, const md_node *n, int depth)
{
    size_t i;

    md_buf_printf(out, "%*s%s", depth * 2, "", md_node_type_name(n->type));
    switch (n->type) {
    case MD_HEADING:
        md_buf_printf(out, " level=%d", n->level);
        break;
    case MD_LIST:
        md_buf_printf(out, " %s%s", n->ordered ? "ordered" : "bullet", n->tight ? " tight" : " loose");
        if (n->ordered)
            md_buf_printf(out, " start=%d", n->start);
        break;
    case MD_CODE_BLOCK: {
        unsigned long lines = 0;
        for (i = 0; i < n->text_len; i++)
            lines += n->text[i] == '\n';
        md_buf_printf(out, " info=%s lines=%lu", n->info ? n->info : "-", lines);
        break;
    }
    case MD_TABLE:
        md_buf_printf(out, " %lux%lu", (unsigned long)n->nrows, (unsigned long)n->ncols);
        break;
    default:
        break;
    }
    md_buf_putc(out, '\n');
    for (i = 0; i < n->nchildren; i++)
        dump_tree(out, n->children[i], depth + 1);
}

int main(int argc, char **argv)
{
    md_options o;
    const char *file = NULL;
    int tree = 0, i, status = 0;
    md_buf in, out;
    md_node *doc;

    md_options_default(&o);
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage, stdout);
            return 0;
        } else if (!strcmp(a, "-V") || !strcmp(a, "--version")) {
            printf("mdhtml %s\n", MDHTML_VERSION);
            return 0;
        } else if (!strcmp(a, "-t") || !strcmp(a, "--toc")) {
            o.toc = 1;
        } else if (!strcmp(a, "--toc-depth")) {
            char *end;
            long d;
            if (++i >= argc)
                return usage_error("missing argument for", a);
            d = strtol(argv[i], &end, 10);
            if (*argv[i] == '\0' || *end != '\0' || d < 1 || d > 6)
                return usage_error("--toc-depth must be between 1 and 6, got", argv[i]);
            o.toc_depth = (int)d;
        } else if (!strcmp(a, "-s") || !strcmp(a, "--standalone")) {
            o.standalone = 1;
        } else if (!strcmp(a, "--title")) {
            if (++i >= argc)
                return usage_error("missing argument for", a);
            o.title = argv[i];
        } else if (!strcmp(a, "--no-ids")) {
            o.heading_ids = 0;
        } else if (!strcmp(a, "--tree")) {
            tree = 1;
        } else if (a[0] == '-' && a[1] != '\0') {
            return usage_error("unknown option", a);
        } else if (file) {
            return usage_error("only one FILE may be given; extra:", a);
        } else {
            file = a;
        }
    }
    md_buf_init(&in);
    md_buf_init(&out);
    if (read_input(file ? file : "-", &in) != 0)
        return 1;
    doc = md_parse(in.data ? in.data : "", in.len);
    if (!doc) {
        fputs("mdhtml: out of memory\n", stderr);
        md_buf_free(&in);
        return 1;
    }
    if (tree)
        dump_tree(&out, doc, 0);
    else
        md_render_html(doc, &o, &out);
    if (out.failed) {
        fputs("mdhtml: out of memory\n", stderr);
        status = 1;
    } else if ((out.len && fwrite(out.data, 1, out.len, stdout) != out.len) || fflush(stdout) != 0) {
        fputs("mdhtml: write error\n", stderr);
        status = 1;
    }
    md_node_free(doc);
    md_buf_free(&in);
    md_buf_free(&out);
    return status;
}
