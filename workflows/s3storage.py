"""Private files in an S3-compatible bucket (AWS S3, MinIO, Ceph RGW, ...), through
django-storages: chosen by ``MOTCUA_PRIVATE_STORAGE=s3`` (see config/settings.py).

The bucket stays private: objects are written with a private ACL (or none, where the
bucket refuses ACLs), never get a URL from motcua (``url()`` raises), and are read back by
the server, which streams them through the same access-checked views as files on disk.
Every error of the store (refused connection, timeout, 5xx, access denied) comes out as
``StorageUnavailable``; a missing object is a ``FileNotFoundError``, as on disk.
"""

from __future__ import annotations

import functools

from boto3.exceptions import Boto3Error
from botocore.exceptions import BotoCoreError, ClientError
from storages.backends.s3 import S3Storage

from .storage import StorageUnavailable


def _not_found(error: ClientError) -> bool:
    return error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404


def _translated(method):
    @functools.wraps(method)
    def wrapper(self, name, *args, **kwargs):
        try:
            return method(self, name, *args, **kwargs)
        except ClientError as exc:
            if _not_found(exc):
                raise FileNotFoundError(name) from exc
            raise StorageUnavailable(f"object storage refused {method.__name__}: {exc}") from exc
        except (BotoCoreError, Boto3Error) as exc:  # Boto3Error: a failed transfer
            raise StorageUnavailable(
                f"object storage unreachable ({method.__name__}): {exc}"
            ) from exc

    return wrapper


class PrivateS3Storage(S3Storage):
    """S3Storage that never gives out a URL and reports outages as ``StorageUnavailable``."""

    def url(self, name, *args, **kwargs):
        raise ValueError("private files have no URL; serve them through an access-checked view")

    @_translated
    def _open(self, name, mode="rb"):
        file = super()._open(name, mode)
        if "r" in mode:
            # Fetch now, not on the first read: an outage is then an error here, in the
            # view, rather than a response that breaks off half way. The object goes to a
            # spooled temporary file (on disk past max_memory_size), never whole into memory.
            file.file  # noqa: B018
        return file

    _save = _translated(S3Storage._save)
    exists = _translated(S3Storage.exists)
    size = _translated(S3Storage.size)
    get_modified_time = _translated(S3Storage.get_modified_time)
    listdir = _translated(S3Storage.listdir)

    @_translated
    def delete(self, name):
        return super().delete(name)
