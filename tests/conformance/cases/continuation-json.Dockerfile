FROM alpine
CMD [ \
  "echo", \
  "multi-line json" \
]
