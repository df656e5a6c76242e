FROM alpine
ENV K v
ENV K v w
ENV K   multiple   spaces   inside  
ENV K "quoted value"
ENV K=only-this-is-new-form
ENV	TABKEY	tab value
