FROM python:3.12
RUN apt-get update && apt-get install -y build-essential libpq-dev
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
CMD ["python", "app.py"]
