# delimiters are any shell word: dots, dashes, underscores, digits, unicode, spaces when quoted
FROM alpine
RUN <<END_OF-FILE.1 <<__x__ <<eof2
1
END_OF-FILE.1
2
__x__
3
eof2
RUN <<123
digits only
123
RUN <<"E O F"
quoted with spaces
E O F
RUN <<日本
unicode delimiter
日本
RUN <<--EOF
	dash after chomp marker belongs to the name
	-EOF
