/* test_md.c - unit tests for the md library (run by ctest). */
#include "md.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures, checks;

static void expect_opts(const char *file, int line, const char *src, const md_options *o, const char *want)
{
    md_buf out;

    md_buf_init(&out);
    checks++;
    if (md_to_html(src, strlen(src), o, &out) != 0) {
        failures++;
        fprintf(stderr, "%s:%d: conversion failed\n", file, line);
    } else if (strcmp(out.data ? out.data : "", want) != 0) {
        failures++;
        fprintf(stderr, "%s:%d: for input\n%s\n--- got ---\n%s--- want ---\n%s-----------\n", file, line, src,
                out.data ? out.data : "", want);
    }
    md_buf_free(&out);
}

static void expect_html(const char *file, int line, const char *src, const char *want)
{
    md_options o;

    md_options_default(&o);
    o.heading_ids = 0;
    expect_opts(file, line, src, &o, want);
}

#define EXPECT(src, want) expect_html(__FILE__, __LINE__, src, want)
#define CHECK(cond)                                                              \
    do {                                                                         \
        checks++;                                                                \
        if (!(cond)) {                                                           \
            failures++;                                                          \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                        \
    } while (0)

static void test_headings_and_paragraphs(void)
{
    EXPECT("", "");
    EXPECT("# One\n## Two ##\n###### Six\n####### seven", "<h1>One</h1>\n<h2>Two</h2>\n<h6>Six</h6>\n<p>####### seven</p>\n");
    EXPECT("#no space\n#", "<p>#no space</p>\n<h1></h1>\n");
    EXPECT("Title\n=====\nSub\n---", "<h1>Title</h1>\n<h2>Sub</h2>\n");
    EXPECT("a\nb\n\nc  \n", "<p>a\nb</p>\n<p>c</p>\n");
    EXPECT("  indented\n    lazy", "<p>indented\nlazy</p>\n");
    EXPECT("line\r\nnext\r\n", "<p>line\nnext</p>\n");
}

static void test_breaks_and_code(void)
{
    EXPECT("***\n- - -\n___", "<hr />\n<hr />\n<hr />\n");
    EXPECT("    code\n\n      more\n\nafter", "<pre><code>code\n\n  more\n</code></pre>\n<p>after</p>\n");
    EXPECT("\tx = 1;", "<pre><code>x = 1;\n</code></pre>\n");
    EXPECT("```c extra\nint *p = &x;\n```", "<pre><code class=\"language-c\">int *p = &amp;x;\n</code></pre>\n");
    EXPECT("  ~~~~\n  a\n   b\n ~~~~~\nz", "<pre><code>a\n b\n</code></pre>\n<p>z</p>\n");
    EXPECT("```\nunclosed\n", "<pre><code>unclosed\n</code></pre>\n");
    EXPECT("para\n    not code", "<p>para\nnot code</p>\n");
}

static void test_quotes(void)
{
    EXPECT("> a\n> b\n\n> c", "<blockquote>\n<p>a\nb</p>\n</blockquote>\n<blockquote>\n<p>c</p>\n</blockquote>\n");
    EXPECT("> # h\n> - x", "<blockquote>\n<h1>h</h1>\n<ul>\n<li>x</li>\n</ul>\n</blockquote>\n");
    EXPECT(">lazy\ncontinuation", "<blockquote>\n<p>lazy\ncontinuation</p>\n</blockquote>\n");
}

static void test_lists(void)
{
    EXPECT("- a\n- b", "<ul>\n<li>a</li>\n<li>b</li>\n</ul>\n");
    EXPECT("- a\n\n- b", "<ul>\n<li>\n<p>a</p>\n</li>\n<li>\n<p>b</p>\n</li>\n</ul>\n");
    EXPECT("1. a\n2. b\n\n7) c", "<ol>\n<li>a</li>\n<li>b</li>\n</ol>\n<ol start=\"7\">\n<li>c</li>\n</ol>\n");
    EXPECT("- a\n  - b\n    - c\n- d",
           "<ul>\n<li>a\n<ul>\n<li>b\n<ul>\n<li>c</li>\n</ul>\n</li>\n</ul>\n</li>\n<li>d</li>\n</ul>\n");
    EXPECT("- a\n+ b", "<ul>\n<li>a</li>\n</ul>\n<ul>\n<li>b</li>\n</ul>\n");
    EXPECT("-\n  x\n- \n-   y", "<ul>\n<li>x</li>\n<li></li>\n<li>y</li>\n</ul>\n");
    EXPECT("- a\n  ```\n  code\n  ```", "<ul>\n<li>a\n<pre><code>code\n</code></pre>\n</li>\n</ul>\n");
    EXPECT("text\n2. not a list", "<p>text\n2. not a list</p>\n");
    EXPECT("text\n1. a list", "<p>text</p>\n<ol>\n<li>a list</li>\n</ol>\n");
    EXPECT("- a\nlazy", "<ul>\n<li>a\nlazy</li>\n</ul>\n");
    EXPECT("-\n\n- b\n\n\nafter", "<ul>\n<li></li>\n<li>\n<p>b</p>\n</li>\n</ul>\n<p>after</p>\n");
    EXPECT("* a\n* * *\n* b", "<ul>\n<li>a</li>\n</ul>\n<hr />\n<ul>\n<li>b</li>\n</ul>\n");
}

static void test_tables(void)
{
    EXPECT("a | b\n--|:-:\n1 | 2\n3",
           "<table>\n<thead>\n<tr>\n<th>a</th>\n<th align=\"center\">b</th>\n</tr>\n</thead>\n<tbody>\n<tr>\n"
           "<td>1</td>\n<td align=\"center\">2</td>\n</tr>\n</tbody>\n</table>\n<p>3</p>\n");
    EXPECT("| x |\n|--:|", "<table>\n<thead>\n<tr>\n<th align=\"right\">x</th>\n</tr>\n</thead>\n</table>\n");
    EXPECT("| a | b |\n| - |\n", "<p>| a | b |\n| - |</p>\n");
    EXPECT("|a|\n|-|\n|`x` \\| y|", "<table>\n<thead>\n<tr>\n<th>a</th>\n</tr>\n</thead>\n<tbody>\n<tr>\n"
                                    "<td><code>x</code> | y</td>\n</tr>\n</tbody>\n</table>\n");
}

static void test_inlines(void)
{
    EXPECT("*a* _b_ **c** __d__ ***e*** ~~f~~", "<p><em>a</em> <em>b</em> <strong>c</strong> <strong>d</strong> "
                                                 "<em><strong>e</strong></em> <del>f</del></p>\n");
    EXPECT("**a *b* c** *a **b** c*", "<p><strong>a <em>b</em> c</strong> <em>a <strong>b</strong> c</em></p>\n");
    EXPECT("**a* x_y_z * a * ~one~", "<p>*<em>a</em> x_y_z * a * ~one~</p>\n");
    EXPECT("`a*b*` ``x`y`` `open", "<p><code>a*b*</code> <code>x`y</code> `open</p>\n");
    EXPECT("` a ` `  `", "<p><code>a</code> <code>  </code></p>\n");
    EXPECT("\\*x\\* \\a \\\\", "<p>*x* \\a \\</p>\n");
    EXPECT("<b>&</b> &amp; &#42; &#x2A; &bogus &;", "<p>&lt;b&gt;&amp;&lt;/b&gt; &amp; &#42; &#x2A; &amp;bogus &amp;;</p>\n");
    EXPECT("a  \nb\\\nc", "<p>a<br />\nb<br />\nc</p>\n");
}

static void test_links(void)
{
    EXPECT("[a](/u) [b *c*](<x y> \"T\") [n [e] d](p(1))",
           "<p><a href=\"/u\">a</a> <a href=\"x%20y\" title=\"T\">b <em>c</em></a> "
           "<a href=\"p(1)\">n [e] d</a></p>\n");
    EXPECT("![alt *x*](i.png 'I') [no link] [x](", "<p><img src=\"i.png\" alt=\"alt x\" title=\"I\" /> [no link] [x](</p>\n");
    EXPECT("[x](JavaScript:evil()) [y](data:text/html,z) [z](data:image/png;base64,AA)",
           "<p><a href=\"#\">x</a> <a href=\"#\">y</a> <a href=\"data:image/png;base64,AA\">z</a></p>\n");
    EXPECT("<http://a.b/c?d=1&e> <a@b.c> <not a link> <x@>",
           "<p><a href=\"http://a.b/c?d=1&amp;e\">http://a.b/c?d=1&amp;e</a> <a href=\"mailto:a@b.c\">a@b.c</a> "
           "&lt;not a link&gt; &lt;x@&gt;</p>\n");
    EXPECT("[caf\xC3\xA9](/caf\xC3\xA9 \"q\\\"\")", "<p><a href=\"/caf%C3%A9\" title=\"q&quot;\">caf\xC3\xA9</a></p>\n");
}

static void test_ids_toc_standalone(void)
{
    md_options o;

    md_options_default(&o);
    expect_opts(__FILE__, __LINE__, "# Hello, *World*!\n## Q&amp;A\n# Hello World\n## \xC3\x9C ber", &o,
                "<h1 id=\"hello-world\">Hello, <em>World</em>!</h1>\n<h2 id=\"qa\">Q&amp;A</h2>\n"
                "<h1 id=\"hello-world-1\">Hello World</h1>\n<h2 id=\"\xC3\x9C-ber\">\xC3\x9C ber</h2>\n");
    o.toc = 1;
    o.heading_ids = 1;
    expect_opts(__FILE__, __LINE__, "# A\n### C\n## B\n#### deep\n# D", &o,
                "<nav class=\"toc\">\n<ul>\n<li><a href=\"#a\">A</a>\n<ul>\n<li>\n<ul>\n<li><a href=\"#c\">C</a></li>\n"
                "</ul>\n</li>\n<li><a href=\"#b\">B</a></li>\n</ul>\n</li>\n<li><a href=\"#d\">D</a></li>\n</ul>\n"
                "</nav>\n<h1 id=\"a\">A</h1>\n<h3 id=\"c\">C</h3>\n<h2 id=\"b\">B</h2>\n<h4 id=\"deep\">deep</h4>\n"
                "<h1 id=\"d\">D</h1>\n");
    md_options_default(&o);
    o.standalone = 1;
    expect_opts(__FILE__, __LINE__, "x *y*\n\n# T & *u*", &o,
                "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n<title>T &amp; u</title>\n</head>\n<body>\n"
                "<p>x <em>y</em></p>\n<h1 id=\"t-u\">T &amp; <em>u</em></h1>\n</body>\n</html>\n");
    o.title = "<Given>";
    o.heading_ids = 0;
    expect_opts(__FILE__, __LINE__, "", &o,
                "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n<title>&lt;Given&gt;</title>\n</head>\n"
                "<body>\n</body>\n</html>\n");
}

static void test_tree_and_robustness(void)
{
    const char *src = "# h\n\n> - a\n>\n>   b\n\n```x\n1\n2\n```\n";
    md_node *doc = md_parse(src, strlen(src));
    md_buf b;
    char *deep;
    size_t i, n = 5000;

    CHECK(doc != NULL);
    if (doc) {
        CHECK(doc->nchildren == 3);
        CHECK(doc->children[0]->type == MD_HEADING && doc->children[0]->level == 1);
        CHECK(doc->children[1]->type == MD_BLOCKQUOTE && doc->children[1]->children[0]->type == MD_LIST);
        CHECK(doc->children[1]->children[0]->tight == 0);
        CHECK(doc->children[2]->type == MD_CODE_BLOCK && strcmp(doc->children[2]->info, "x") == 0);
        CHECK(doc->children[2]->text_len == 4);
        md_node_free(doc);
    }
    CHECK(strcmp(md_node_type_name(MD_TABLE), "table") == 0);

    /* Pathological inputs must not crash or recurse without bound. */
    deep = malloc(n * 2 + 1);
    CHECK(deep != NULL);
    if (!deep)
        return;
    for (i = 0; i < n; i++)
        deep[i] = '*';
    for (i = 0; i < n; i++)
        deep[n + i] = i % 2 ? '[' : '_';
    deep[2 * n] = '\0';
    md_buf_init(&b);
    CHECK(md_to_html(deep, 2 * n, NULL, &b) == 0 && b.len > 2 * n);
    md_buf_free(&b);
    for (i = 0; i < 2 * n; i++)
        deep[i] = (char)(i % 3 == 0 ? '>' : i % 3 == 1 ? ' ' : '-');
    md_buf_init(&b);
    CHECK(md_to_html(deep, 300, NULL, &b) == 0);
    md_buf_free(&b);
    md_buf_init(&b);
    CHECK(md_to_html("a\0b", 3, NULL, &b) == 0 && strcmp(b.data, "<p>a\xEF\xBF\xBD" "b</p>\n") == 0);
    md_buf_free(&b);
    free(deep);
}

int main(void)
{
    test_headings_and_paragraphs();
    test_breaks_and_code();
    test_quotes();
    test_lists();
    test_tables();
    test_inlines();
    test_links();
    test_ids_toc_standalone();
    test_tree_and_robustness();
    if (failures) {
        fprintf(stderr, "%d of %d checks failed\n", failures, checks);
        return 1;
    }
    printf("test_md: all %d checks passed\n", checks);
    return 0;
}
