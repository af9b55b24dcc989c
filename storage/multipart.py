"""One S3 object written as a stream: a multipart upload that is completed only on commit.

Parts of `PART_BYTES` are sent as the Parquet writer produces them, so memory stays bounded;
the object appears under its key only when the upload is completed (a file smaller than one
part is one PUT). A failed write aborts its upload; a killed one leaves an incomplete upload
for `S3Store.remove_leftovers` (the next worker to take the shard, or `producer reconcile`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from storage.errors import PermanentError, TransientError
from storage.store import Committed

#: Multipart part size: S3 wants at least 5 MiB for every part but the last.
PART_BYTES = 8 * 1024 * 1024

#: S3 error codes that no retry can fix: the shard fails with the reason.
_PERMANENT = {"NoSuchBucket", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"}

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
