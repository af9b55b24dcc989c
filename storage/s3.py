"""A store in an S3 bucket (AWS, MinIO, Ceph, R2 ...): objects appear only when complete.

Writes go through botocore's explicit multipart upload: parts of `PART_BYTES` are sent as
the Parquet writer produces them (memory stays bounded), and the object appears under its
key only when the upload is completed (or, for a file smaller than one part, by one PUT).
A failed write aborts its upload; a killed one leaves an incomplete upload, which
`remove_leftovers` (the next worker to take the shard, or `producer reconcile`) aborts.
Reads, listing and footers go through pyarrow's own S3 filesystem. pyarrow's S3 output
stream is not used for writing: closing it, which its destructor does after an exception,
completes the upload, so a failed write would publish a truncated object.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pyarrow.fs as pafs

from storage.errors import InputError, PermanentError, TransientError
from storage.layout import relative_path, shard_at
from storage.shards import Shard
from storage.store import Committed, Leftover, Store

#: Multipart part size: S3 wants at least 5 MiB for every part but the last.
PART_BYTES = 8 * 1024 * 1024
ATTEMPTS = 5  # per request, by botocore's and the AWS SDK's standard retry strategy

#: S3 error codes that no retry can fix: the shard fails with the reason.
_PERMANENT = {"NoSuchBucket", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"}


@dataclass(frozen=True)
class S3Options:
    """Endpoint and credentials (None: the AWS SDKs' own defaults, e.g. ~/.aws)."""

    endpoint_url: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = field(default=None, repr=False)
    region: str | None = None


# boto3 is imported where it is used: every `producer` call imports this module, and only
# an s3:// DATA_DIR needs botocore (0.1 s to import).


@contextmanager
def s3_errors(what: str) -> Iterator[None]:
    """Turn botocore's errors into ours: permanent for bad buckets or credentials, else
    transient (the shard is retried)."""
    import botocore.exceptions

    try:
        yield
    except botocore.exceptions.ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        family = PermanentError if code in _PERMANENT else TransientError
        raise family(f"{what}: S3 said {code or exc}") from exc
    except botocore.exceptions.BotoCoreError as exc:
        raise TransientError(f"{what}: {exc}") from exc


class MultipartUpload:
    """A write-only file object for pq.ParquetWriter that streams into one S3 object."""

    def __init__(self, client: Any, bucket: str, key: str, part_bytes: int = PART_BYTES):
        self.client, self.bucket, self.key = client, bucket, key
        self.url = f"s3://{bucket}/{key}"
        self.part_bytes = part_bytes
        self.stream = self
        self._buffer = bytearray()
        self._parts: list[dict] = []
        self._upload_id: str | None = None
        self._size = 0
        self.closed = False

    # -- the file object pyarrow writes to ------------------------------------------------
    def write(self, data: Any) -> int:
        if self.closed:
            raise ValueError(f"{self.url}: write after commit or abort")
        view = memoryview(data).cast("B")
        self._buffer += view
        self._size += len(view)
        if len(self._buffer) >= self.part_bytes:
            self._send_part()
        return len(view)

    def tell(self) -> int:
        return self._size

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def writable(self) -> bool:
        return True

    # -- the sink -----------------------------------------------------------------------
    def _send_part(self) -> None:
        with s3_errors(f"uploading {self.url}"):
            if self._upload_id is None:
                made = self.client.create_multipart_upload(Bucket=self.bucket, Key=self.key)
                self._upload_id = made["UploadId"]
            number = len(self._parts) + 1
            sent = self.client.upload_part(
                Bucket=self.bucket,
                Key=self.key,
                UploadId=self._upload_id,
                PartNumber=number,
                Body=self._buffer,  # no copy: the buffer is replaced, not reused
            )
        self._parts.append({"ETag": sent["ETag"], "PartNumber": number})
        self._buffer = bytearray()

    def commit(self) -> Committed:
        """Make the object appear under its key, whole; abort the upload if that fails."""
        self.closed = True
        try:
            with s3_errors(f"committing {self.url}"):
                if self._upload_id is None:
                    put = self.client.put_object(
                        Bucket=self.bucket, Key=self.key, Body=self._buffer
                    )
                    etag = put["ETag"]
                else:
                    if self._buffer:
                        self._send_part()
                    done = self.client.complete_multipart_upload(
                        Bucket=self.bucket,
                        Key=self.key,
                        UploadId=self._upload_id,
                        MultipartUpload={"Parts": self._parts},
                    )
                    etag = done["ETag"]
        except BaseException:
            self.abort()
            raise
        return Committed(self.url, self._size, etag.strip('"'))

    def abort(self) -> None:
        """Drop the parts sent so far; nothing appears under the key."""
        import botocore.exceptions

        self.closed = True
        self._buffer = bytearray()
        if self._upload_id is None:
            return
        upload_id, self._upload_id = self._upload_id, None
        try:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=upload_id)
        except botocore.exceptions.BotoCoreError:
            pass  # the next writer of this shard, or `reconcile`, aborts it
        except botocore.exceptions.ClientError:
            pass


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
