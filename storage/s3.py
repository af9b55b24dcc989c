"""A store in an S3 bucket (AWS, MinIO, Ceph, R2 ...): objects appear only when complete.

Writes go through botocore's explicit multipart upload (storage/multipart.py); incomplete
uploads are the leftovers of killed writers. Reads, listing and footers go through pyarrow's
own S3 filesystem. pyarrow's S3 output stream is not used for writing: closing it, which
its destructor does after an exception, completes the upload, so a failed write would
publish a truncated object under the final key.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow.fs as pafs

from storage.errors import InputError
from storage.layout import relative_path, shard_at
from storage.multipart import PART_BYTES, MultipartUpload, s3_errors
from storage.shards import Shard
from storage.store import Leftover, Store
from storage.stores import S3Options

ATTEMPTS = 5  # per request, by botocore's and the AWS SDK's standard retry strategy

# boto3 is imported where it is used: every `producer` call imports this module, and only
# an s3:// DATA_DIR needs botocore (0.1 s to import).


class S3Store(Store):
    """`s3://bucket/prefix`: the dataset's files are objects under `prefix/`."""

    def __init__(self, url: str, options: S3Options | None = None) -> None:
        rest = url.removeprefix("s3://")
        bucket, _, prefix = rest.partition("/")
        if not bucket:
            raise InputError(f"DATA_DIR={url!r} names no bucket: write s3://bucket/prefix")
        self.url = url
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.root = f"{bucket}/{self.prefix}" if self.prefix else bucket
        self.options = options or S3Options()
        self.part_bytes = PART_BYTES
        self._fs: pafs.S3FileSystem | None = None
        self._client: Any = None

    def __repr__(self) -> str:
        return f"S3Store({self.url!r})"

    # Both clients are made on first use, in the process that uses them: a Celery worker
    # forks its pool after import, and neither SDK's connections survive a fork.
    @property
    def filesystem(self) -> pafs.FileSystem:
        if self._fs is None:
            o = self.options
            self._fs = pafs.S3FileSystem(
                access_key=o.access_key_id,
                secret_key=o.secret_access_key,
                region=o.region,
                endpoint_override=o.endpoint_url,
                retry_strategy=pafs.AwsStandardS3RetryStrategy(max_attempts=ATTEMPTS),
            )
        return self._fs

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3
            import botocore.config

            o = self.options
            config = botocore.config.Config(
                retries={"max_attempts": ATTEMPTS, "mode": "standard"},
                s3={"addressing_style": "path"} if o.endpoint_url else None,
                # Checksums only where S3 requires them: several S3-compatible services
                # refuse the ones newer botocore sends by default.
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            )
            self._client = boto3.session.Session().client(
                "s3",
                endpoint_url=o.endpoint_url,
                aws_access_key_id=o.access_key_id,
                aws_secret_access_key=o.secret_access_key,
                region_name=o.region,
                config=config,
            )
        return self._client

    def key(self, shard: Shard) -> str:
        return f"{self.prefix}/{relative_path(shard)}" if self.prefix else relative_path(shard)

    def sink(self, shard: Shard) -> MultipartUpload:
        return MultipartUpload(self.client, self.bucket, self.key(shard), self.part_bytes)

    def check(self) -> None:
        import botocore.exceptions

        fix = "create the bucket, or check AWS_ENDPOINT_URL and the AWS_* credentials"
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except botocore.exceptions.ClientError as exc:
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            why = {404: "no such bucket", 403: "access denied"}.get(status, str(exc))
            raise InputError(f"DATA_DIR={self.url}: {why}; {fix}") from None
        except botocore.exceptions.BotoCoreError as exc:
            raise InputError(f"DATA_DIR={self.url}: {exc}; {fix}") from None

    def _uploads(self, prefix: str) -> Iterator[dict]:
        pages = self.client.get_paginator("list_multipart_uploads")
        with s3_errors(f"listing incomplete uploads under {self.url}"):
            for page in pages.paginate(Bucket=self.bucket, Prefix=prefix):
                yield from page.get("Uploads", [])

    def leftovers(self) -> list[Leftover]:
        out = []
        skip = len(self.prefix) + 1 if self.prefix else 0
        for upload in self._uploads(f"{self.prefix}/" if self.prefix else ""):
            shard = shard_at(upload["Key"][skip:])
            if shard is not None:
                started = upload["Initiated"].isoformat(timespec="seconds")
                what = f"incomplete upload started {started}"
                out.append(Leftover(shard, what, upload["UploadId"]))
        return out

    def remove_leftovers(self, shard: Shard) -> int:
        key = self.key(shard)
        stale = [u["UploadId"] for u in self._uploads(key) if u["Key"] == key]
        for upload_id in stale:
            self._abort(key, upload_id)
        return len(stale)

    def discard(self, leftover: Leftover) -> None:
        self._abort(self.key(leftover.shard), leftover.handle)

    def _abort(self, key: str, upload_id: str) -> None:
        import botocore.exceptions

        with s3_errors(f"aborting an incomplete upload of {key}"):
            try:
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
            except botocore.exceptions.ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "NoSuchUpload":
                    raise
