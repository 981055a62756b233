# ruff: noqa
# Fixture for semgrep's test mode (make audit): `ruleid:` lines must be found, `ok:` lines not.
from sqlalchemy import select, text


def find(db, Signature, slug, column):
    # ruleid: sql-built-from-strings
    db.session.execute(text(f"SELECT id FROM campaigns WHERE slug = '{slug}'"))
    # ruleid: sql-built-from-strings
    db.session.execute("SELECT id FROM campaigns WHERE slug = '%s'" % slug)
    # ruleid: sql-built-from-strings
    db.session.execute(text("SELECT {} FROM signatures".format(column)))
    # ruleid: sql-built-from-strings
    db.session.execute(text("SELECT id FROM campaigns WHERE slug = '" + slug + "'"))
    query = "DELETE FROM signatures WHERE campaign_id = " + slug
    # ruleid: sql-built-from-strings
    db.session.execute(text(query))
    # ok: sql-built-from-strings
    db.session.execute(text("SELECT id FROM campaigns WHERE slug = :slug"), {"slug": slug})
    # ok: sql-built-from-strings
    db.session.execute(select(Signature.id).where(Signature.note == f"paper:{slug}"))
