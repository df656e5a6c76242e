# heredoc content is raw: no comment stripping, no continuation, no instruction parsing
FROM alpine
RUN <<EOF
# not a comment for the parser
echo one \
echo two
  FROM scratch

	indented
EOF 
 EOF
EOF
