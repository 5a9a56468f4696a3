"""Storage for personal files: dossier components and, later, generated documents."""

from django.core.files.storage import FileSystemStorage


class PrivateFileSystemStorage(FileSystemStorage):
    """Files with no URL: they are streamed only by views that check who is asking."""

    def url(self, name):
        raise ValueError("private files have no URL; serve them through an access-checked view")
