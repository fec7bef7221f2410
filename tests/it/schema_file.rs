//! The top-level schema files say what the migrations build: `schema.sql`
//! applied to a fresh SQLite database, and `schema.postgres.sql` to a fresh
//! PostgreSQL one, describe the same tables, columns, keys, checks, indexes
//! (and sequences) as a database the coordinator migrated. On a difference
//! the test prints the lines that differ and, to copy from, the migrated
//! database's own definition of each object concerned.

use std::collections::BTreeSet;
use std::sync::Arc;

use ccmulti::clock::SystemClock;
use ccmulti::store::{Durability, PostgresStore, SqliteStore};
use rusqlite::Connection;

const SQLITE_SCHEMA: &str = include_str!("../../schema.sql");
const POSTGRES_SCHEMA: &str = include_str!("../../schema.postgres.sql");

/// Fails with the difference between the two descriptions.
fn assert_same(file: &str, from_file: &BTreeSet<String>, migrated: &BTreeSet<String>, hint: &str) {
    if from_file == migrated {
        return;
    }
    let only_file: Vec<&String> = from_file.difference(migrated).collect();
    let only_migrated: Vec<&String> = migrated.difference(from_file).collect();
    panic!(
        "{file} is not what the migrations build; update it.\n\
         only in {file}:\n  {}\nonly in the migrated database:\n  {}\n{hint}",
        only_file
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n  "),
        only_migrated
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n  "),
    );
}

/// The description has lines starting with each of `starts`: it reads what
/// it claims to compare (a query that found nothing would compare equal).
fn shows(lines: &BTreeSet<String>, starts: &[&str]) {
    for start in starts {
        assert!(
            lines.iter().any(|l| l.starts_with(start)),
            "no {start:?} line in {lines:#?}"
        );
    }
}

/// SQL text without comments and with single spaces, for comparing the parts
/// of a definition the pragmas do not show (checks, a partial index's WHERE).
fn normalised(sql: &str) -> String {
    let without_comments: Vec<&str> = sql
        .lines()
        .map(|l| l.split_once("--").map_or(l, |(code, _)| code))
        .collect();
    without_comments
        .join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace("( ", "(")
        .replace(" )", ")")
}

/// Each `CHECK (...)` of a table's SQL.
fn checks(sql: &str) -> Vec<String> {
    let sql = normalised(sql);
    let mut found = Vec::new();
    let mut rest = sql.as_str();
    while let Some(at) = rest.find("CHECK (") {
        let from = at + "CHECK ".len();
        let mut depth = 0;
        let end = rest[from..]
            .char_indices()
            .find_map(|(i, c)| {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                (depth == 0).then_some(from + i + 1)
            })
            .unwrap_or(rest.len());
        found.push(rest[at..end].to_owned());
        rest = &rest[end..];
    }
    found
}

fn sqlite_rows(conn: &Connection, sql: &str) -> Vec<Vec<String>> {
    use rusqlite::types::Value;
    let mut stmt = conn.prepare(sql).unwrap();
    let n = stmt.column_count();
    stmt.query_map([], |r| {
        (0..n)
            .map(|i| {
                Ok(match r.get::<_, Value>(i)? {
                    Value::Null => "NULL".to_owned(),
                    Value::Integer(n) => n.to_string(),
                    Value::Real(f) => f.to_string(),
                    Value::Text(t) => t,
                    Value::Blob(b) => format!("{b:?}"),
                })
            })
            .collect()
    })
    .unwrap()
    .collect::<rusqlite::Result<_>>()
    .unwrap()
}

/// One line per column, key, check, index and setting of a SQLite database.
fn describe_sqlite(conn: &Connection) -> BTreeSet<String> {
    let mut lines = BTreeSet::new();
    let objects = sqlite_rows(
        conn,
        "SELECT type, name, tbl_name, sql FROM sqlite_master \
         WHERE name NOT LIKE 'refinery%' AND name NOT LIKE 'sqlite_autoindex%' ORDER BY name",
    );
    for object in &objects {
        let [kind, name, table, sql] = &object[..] else {
            panic!("{object:?}")
        };
        match kind.as_str() {
            "table" => {
                for column in sqlite_rows(conn, &format!("PRAGMA table_xinfo({name})")) {
                    lines.insert(format!("{name}: column {}", column.join(" ")));
                }
                for key in sqlite_rows(conn, &format!("PRAGMA foreign_key_list({name})")) {
                    lines.insert(format!("{name}: foreign key {}", key[2..].join(" ")));
                }
                for index in sqlite_rows(conn, &format!("PRAGMA index_list({name})")) {
                    let index_name = &index[1];
                    let columns = sqlite_rows(conn, &format!("PRAGMA index_xinfo({index_name})"));
                    let keyed: Vec<String> = columns
                        .iter()
                        .filter(|c| c[5] == "1")
                        .map(|c| c[2..5].join(" "))
                        .collect();
                    // An implicit index (a key's) is named by its place in the table.
                    let shown = if index_name.starts_with("sqlite_autoindex") {
                        "(implicit)"
                    } else {
                        index_name
                    };
                    lines.insert(format!(
                        "{name}: index {shown} unique={} origin={} partial={} on {}",
                        index[2],
                        index[3],
                        index[4],
                        keyed.join(", ")
                    ));
                }
                for check in checks(sql) {
                    lines.insert(format!("{name}: {check}"));
                }
                if normalised(sql).contains("AUTOINCREMENT") {
                    lines.insert(format!("{name}: AUTOINCREMENT"));
                }
            }
            _ => {
                lines.insert(format!("{table} {kind} {name}: {}", normalised(sql)));
            }
        }
    }
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    lines.insert(format!("user_version {version}"));
    lines
}

/// The migrated database's own SQL of the objects a difference names.
fn sqlite_hint(conn: &Connection, differing: &BTreeSet<String>) -> String {
    let names: BTreeSet<&str> = differing
        .iter()
        .filter_map(|l| l.split([':', ' ']).next())
        .collect();
    let mut hint = String::from("the migrated database's definitions:\n");
    for name in names {
        let sql: Vec<String> = conn
            .prepare("SELECT sql FROM sqlite_master WHERE tbl_name = ?1 AND sql IS NOT NULL")
            .unwrap()
            .query_map([name], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        for s in sql {
            hint.push_str(&s);
            hint.push_str(";\n");
        }
    }
    hint
}

#[test]
fn schema_sql_is_what_the_sqlite_migrations_build() {
    let dir = tempfile::tempdir().unwrap();
    let migrated_file = dir.path().join("migrated.db");
    drop(
        SqliteStore::open(&migrated_file, Arc::new(SystemClock), Durability::Normal)
            .expect("a migrated database"),
    );
    let migrated = Connection::open(&migrated_file).unwrap();
    let from_file = Connection::open(dir.path().join("from_file.db")).unwrap();
    from_file
        .execute_batch(SQLITE_SCHEMA)
        .expect("schema.sql runs on a fresh database");
    let (file_lines, migrated_lines) = (describe_sqlite(&from_file), describe_sqlite(&migrated));
    shows(
        &file_lines,
        &[
            "lock_waiters: column",
            "task_analyses: CHECK (json_valid(body))",
        ],
    );
    let differing = file_lines
        .symmetric_difference(&migrated_lines)
        .cloned()
        .collect();
    assert_same(
        "schema.sql",
        &file_lines,
        &migrated_lines,
        &sqlite_hint(&migrated, &differing),
    );
    let counter: i64 = from_file
        .query_row(
            "SELECT last_token FROM fencing_counter WHERE id = 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        counter, 0,
        "schema.sql seeds the fencing counter as V1 does"
    );
    assert!(
        ccmulti_testkit::interop::repo()
            .join("schema.sql")
            .is_file()
    );
}

/// One line per column, constraint, index and sequence of the public schema.
async fn describe_postgres(url: &str) -> BTreeSet<String> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(connection);
    let queries = [
        // Columns in order, with type, nullability, default, collation and identity.
        "SELECT c.relname || ': column ' || a.attnum || ' ' || a.attname || ' ' \
             || format_type(a.atttypid, a.atttypmod) \
             || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END \
             || COALESCE(' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid), '') \
             || COALESCE(' COLLATE ' || NULLIF(co.collname, 'default'), '') \
             || CASE a.attidentity WHEN 'a' THEN ' IDENTITY ALWAYS' WHEN 'd' THEN ' IDENTITY BY DEFAULT' ELSE '' END \
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
         LEFT JOIN pg_collation co ON co.oid = a.attcollation \
         WHERE n.nspname = 'public' AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped \
           AND c.relname NOT LIKE 'refinery%'",
        "SELECT c.relname || ': constraint ' || con.conname || ' ' || pg_get_constraintdef(con.oid) \
         FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = 'public' AND c.relname NOT LIKE 'refinery%'",
        "SELECT tablename || ': ' || indexdef FROM pg_indexes \
         WHERE schemaname = 'public' AND tablename NOT LIKE 'refinery%'",
        "SELECT 'sequence ' || sequencename || ' ' || data_type::text || ' start ' || start_value \
             || ' by ' || increment_by || ' cycle ' || cycle \
         FROM pg_sequences WHERE schemaname = 'public'",
    ];
    let mut lines = BTreeSet::new();
    for query in queries {
        for row in client.query(query, &[]).await.expect(query) {
            lines.insert(row.get::<_, String>(0));
        }
    }
    lines
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_postgres_sql_is_what_the_postgres_migrations_build() {
    let (migrated_url, file_url) =
        tokio::task::spawn_blocking(|| (ccmulti_testpg::database(), ccmulti_testpg::database()))
            .await
            .unwrap();
    drop(
        PostgresStore::open(&migrated_url, Arc::new(SystemClock))
            .await
            .expect("a migrated database"),
    );
    let (client, connection) = tokio_postgres::connect(&file_url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(connection);
    client
        .batch_execute(POSTGRES_SCHEMA)
        .await
        .expect("schema.postgres.sql runs on a fresh database");
    let file_lines = describe_postgres(&file_url).await;
    let migrated_lines = describe_postgres(&migrated_url).await;
    shows(
        &file_lines,
        &["lock_waiters: column", "sequence fencing_tokens"],
    );
    assert_same(
        "schema.postgres.sql",
        &file_lines,
        &migrated_lines,
        "each line above is the migrated catalog's own wording (pg_get_constraintdef, pg_indexes.indexdef)",
    );
}
