"""One module per chapter, each registering that chapter's exercises.

Every module here (not starting with ``_``) is imported by
:func:`ebm.grading.registry`; see ``docs/grading.md``, "Adding an exercise".
"""
