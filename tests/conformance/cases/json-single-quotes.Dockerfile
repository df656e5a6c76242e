FROM alpine
CMD ['echo', 'single quotes are not JSON']
ENTRYPOINT ["mixed", 'quotes']
