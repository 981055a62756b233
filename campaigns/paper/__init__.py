"""Paper signatures collected in the field: a CSV upload (or ``flask paper
import``) checked row by row like the web form, deduplicated with online
signatures, stored validated, with a per-row report that holds no personal data."""
