# Build the wheel in one stage, install it alone in the next: the image runs what a user's
# `pip install preserve` runs, as a non-root user, with its state on a volume.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
COPY migrations ./migrations
COPY storage_profiles ./storage_profiles
RUN pip wheel --no-cache-dir --no-deps -w /dist .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PRESERVE_DATA_DIR=/var/lib/preserve
RUN useradd --system --home /var/lib/preserve --create-home preserve
COPY --from=build /dist/*.whl /tmp/
RUN pip install --no-cache-dir /tmp/*.whl && rm /tmp/*.whl
USER preserve
WORKDIR /var/lib/preserve
VOLUME /var/lib/preserve
EXPOSE 8000
CMD ["preserve", "serve", "--host", "0.0.0.0", "--port", "8000"]
