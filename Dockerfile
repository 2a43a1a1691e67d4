FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PRESERVE_DATA_DIR=/var/lib/preserve
RUN useradd --system --home /var/lib/preserve --create-home preserve
WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
COPY migrations ./migrations
COPY storage_profiles ./storage_profiles
RUN pip install --no-cache-dir -e .

USER preserve
WORKDIR /var/lib/preserve
EXPOSE 8000
CMD ["preserve", "serve", "--host", "0.0.0.0", "--port", "8000"]
