FROM alpine   
RUN echo hi	 
CMD ["a"]  
ENV A=1 
COPY a b 
USER app  
