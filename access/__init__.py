"""Who saw a dossier: every officer's view of its pages, every file and paper opened,
and every opening by verification code, recorded as one row each (``DossierAccess``).

Sits above ``workflows`` and ``procedures`` (it knows dossiers, files and agencies) and
below the front ends and ``documents``, which call ``access.services.access_record``.
A paper is named by its id and kind, not by a foreign key, so this app never depends on
``documents``.
"""
