# n<<EOF attaches the document to file descriptor n
FROM alpine
RUN 3<<CONFIG 4<<-DATA cat /proc/self/fd/3 /proc/self/fd/4
key=value
CONFIG
	row1
	DATA
RUN 0<<IN cat
stdin
IN
