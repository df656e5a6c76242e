# <<'EOF' and a partially quoted delimiter
FROM python:3.12-slim
RUN python3 <<'PY'
import os
print(os.environ.get('HOME', '$HOME'))
PY
RUN <<E"N"D
partial quoting still yields the plain name
END
RUN <<\MARK
escaped delimiter
MARK
