# <<-EOF: the parser keeps the leading tabs in the content; only the terminator may be tab-indented
FROM alpine
RUN <<-EOF
	if true; then
		echo tabbed
	fi
		EOF
RUN <<-EOF
  spaces are not chomped
  EOF
EOF
