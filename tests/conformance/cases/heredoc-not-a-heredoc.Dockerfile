# forms that look like heredocs but are not
FROM alpine
RUN cat<<EOF
RUN cat << EOF
RUN cat <<<"here string"
RUN echo "<<EOF" '<<EOF'
RUN echo \<<EOF
RUN echo <<""
RUN ["cat", "<<EOF"]
CMD cat <<EOF
ENTRYPOINT cat <<EOF
