"""Full-text search over the catalog, with each database's own index (providers/search.py queries it).

SQLite: an FTS5 table (porter stemming) holding each endpoint's name, path, tags and description under the
endpoint's id, kept in step by triggers. PostgreSQL: a weighted tsvector of the same columns (name and path A,
tags B, description C) in a column of providers_endpoint kept by a trigger, with a GIN index.

Django rebuilds a SQLite table (new table, copy, drop, rename) for some schema changes, and the triggers go with
the old one: a later migration that rebuilds providers_endpoint must create them again (the search tests fail
until it does).
"""

from django.db import migrations

SQLITE_FORWARD = [
    """CREATE VIRTUAL TABLE providers_endpoint_search USING fts5(
           name, path, tags, description, tokenize = 'porter unicode61 remove_diacritics 2')""",
    """INSERT INTO providers_endpoint_search (rowid, name, path, tags, description)
       SELECT id, name, path, tags, description FROM providers_endpoint""",
    """CREATE TRIGGER providers_endpoint_search_insert AFTER INSERT ON providers_endpoint BEGIN
           INSERT INTO providers_endpoint_search (rowid, name, path, tags, description)
           VALUES (new.id, new.name, new.path, new.tags, new.description);
       END""",
    """CREATE TRIGGER providers_endpoint_search_update AFTER UPDATE OF name, path, tags, description
       ON providers_endpoint BEGIN
           DELETE FROM providers_endpoint_search WHERE rowid = old.id;
           INSERT INTO providers_endpoint_search (rowid, name, path, tags, description)
           VALUES (new.id, new.name, new.path, new.tags, new.description);
       END""",
    """CREATE TRIGGER providers_endpoint_search_delete AFTER DELETE ON providers_endpoint BEGIN
           DELETE FROM providers_endpoint_search WHERE rowid = old.id;
       END""",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS providers_endpoint_search_insert",
    "DROP TRIGGER IF EXISTS providers_endpoint_search_update",
    "DROP TRIGGER IF EXISTS providers_endpoint_search_delete",
    "DROP TABLE IF EXISTS providers_endpoint_search",
]

# A column Django does not know of, kept by a trigger: ranking reads the stored vector instead of building one for
# every endpoint found. Paths and tags lose their punctuation first: PostgreSQL's parser would take
# "/person/enrich" for one file name.
POSTGRESQL_FORWARD = [
    "ALTER TABLE providers_endpoint ADD COLUMN search_vector tsvector",
    """CREATE FUNCTION providers_endpoint_search_vector() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
           NEW.search_vector :=
               setweight(to_tsvector('english', NEW.name || ' ' || translate(NEW.path, '/-_.', '    ')), 'A')
               || setweight(to_tsvector('english', translate(NEW.tags::text, '[]",', '    ')), 'B')
               || setweight(to_tsvector('english', NEW.description), 'C');
           RETURN NEW;
       END $$""",
    """CREATE TRIGGER providers_endpoint_search BEFORE INSERT OR UPDATE OF name, path, tags, description
       ON providers_endpoint FOR EACH ROW EXECUTE FUNCTION providers_endpoint_search_vector()""",
    "UPDATE providers_endpoint SET name = name",
    "CREATE INDEX providers_endpoint_search ON providers_endpoint USING gin (search_vector)",
]
POSTGRESQL_BACKWARD = [
    "DROP INDEX IF EXISTS providers_endpoint_search",
    "DROP TRIGGER IF EXISTS providers_endpoint_search ON providers_endpoint",
    "DROP FUNCTION IF EXISTS providers_endpoint_search_vector()",
    "ALTER TABLE providers_endpoint DROP COLUMN IF EXISTS search_vector",
]


def run(statements_by_vendor):
    def operation(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return operation


class Migration(migrations.Migration):
    dependencies = [("providers", "0004_catalog_details")]

    operations = [
        migrations.RunPython(
            run({"sqlite": SQLITE_FORWARD, "postgresql": POSTGRESQL_FORWARD}),
            run({"sqlite": SQLITE_BACKWARD, "postgresql": POSTGRESQL_BACKWARD}),
            elidable=False,
        )
    ]
