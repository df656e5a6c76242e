FROM	alpine	AS	build
RUN	echo	hi
ENV	A=1	B=2
COPY	a		b
EXPOSE	80	443
