

# leading blank lines and comments do not count as instructions
FROM alpine

  # indented comment
	# tab-indented comment
RUN echo one # trailing hash text is part of the command


#
RUN echo two
