# heredoc in a CRLF file: content keeps the CR bytes
FROM alpine
RUN <<EOF
line1
line2
EOF
RUN <<-EOF
	chomp
	EOF
RUN echo after
