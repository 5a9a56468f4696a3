"""Storage for personal files: dossier components and generated documents.

Both live in the ``"private"`` entry of ``settings.STORAGES``: a directory on disk
(``PrivateFileSystemStorage``, the default) or an S3-compatible bucket
(``workflows.s3storage.PrivateS3Storage``, ``MOTCUA_PRIVATE_STORAGE=s3``). Neither hands
out a URL: files are streamed only by views that check who is asking. When the store
cannot be reached, both raise ``StorageUnavailable`` (an ``OSError``), which the services
turn into a message for the person and the views into a 503.
"""

from django.core.files.storage import FileSystemStorage
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.functional import LazyObject, empty


class StorageUnavailable(OSError):
    """The file store did not answer, or refused: nothing was written or read."""


class PrivateFileSystemStorage(FileSystemStorage):
    """Files with no URL: they are streamed only by views that check who is asking."""

    def url(self, name):
        raise ValueError("private files have no URL; serve them through an access-checked view")


class PrivateStorage(LazyObject):
    """``storages["private"]``, looked up when first used rather than when the models are
    imported (a FileField calls its storage callable once, at import): settings decide,
    and a test that overrides ``STORAGES`` gets the storage it asked for."""

    def _setup(self):
        from django.core.files.storage import storages

        self._wrapped = storages["private"]


private = PrivateStorage()


@receiver(setting_changed)
def _storages_changed(*, setting, **kwargs):
    if setting == "STORAGES":
        private._wrapped = empty
