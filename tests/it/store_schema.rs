//! Schema parity: a fresh SQLite database and a fresh PostgreSQL schema, each migrated
//! by Monban's own code (`store::connect_and_migrate`, as the server does), must end
//! up with the same tables, columns (nullability, compatible type class, default),
//! primary keys, unique constraints, indexes and foreign keys. Every difference is
//! listed when the test fails.
//!
//! Type classes. SQLite declares few types and sqlx stores some Rust types in a
//! storage class shared with others, so a SQLite type stands for a *set* of classes
//! and a column matches when the PostgreSQL class is in that set:
//!
//! | class     | SQLite (declared)                              | PostgreSQL                  |
//! |-----------|------------------------------------------------|-----------------------------|
//! | text      | TEXT                                           | text, varchar, char         |
//! | timestamp | TEXT (sqlx writes `DateTime<Utc>` as RFC 3339) | timestamp with time zone    |
//! | uuid      | BLOB (sqlx writes `Uuid` as 16 bytes)          | uuid                        |
//! | bytes     | BLOB                                           | bytea                       |
//! | integer   | BIGINT, INTEGER, INT                           | bigint, integer, smallint   |
//! | bool      | BOOLEAN                                        | boolean                     |
//! | json      | JSON (not used: JSON is kept as TEXT on both)  | json, jsonb                 |
//!
//! Anything else (e.g. `timestamp without time zone`, or a SQLite TEXT column that
//! PostgreSQL declares `jsonb`, which the shared SQL binds as text) is a difference.
//!
//! Ignored: index *names* of the indexes the engines create by themselves for a
//! PRIMARY KEY or a UNIQUE column constraint (`sqlite_autoindex_<table>_<n>` vs
//! `<table>_pkey` / `<table>_<col>_key`). Those are not dropped from the comparison:
//! primary keys and unique constraints are compared by table and columns instead.
//! Also ignored: sqlx's bookkeeping table `_sqlx_migrations` (created by the
//! migrator, not by Monban's migrations, and typed differently by design) and
//! SQLite's internal `sqlite_*` tables. Triggers are not catalogue-compared (SQLite
//! has two per event, PostgreSQL one function); `store_admin` checks their effect.

use std::collections::{BTreeMap, BTreeSet};

use crate::common;

use common::{Backend, TestDb};
use monban::store::{self, Store};
use sqlx::Row;

#[derive(Debug, Clone, PartialEq)]
struct Column {
    nullable: bool,
    /// The classes the declared type may hold (one for PostgreSQL).
    classes: BTreeSet<&'static str>,
    /// The declared type, for messages.
    declared: String,
    /// The default, normalised (lower case, casts and parentheses dropped).
    default: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Index {
    table: String,
    columns: Vec<String>,
    unique: bool,
    /// The partial-index predicate, normalised; empty when none.
    predicate: String,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct ForeignKey {
    table: String,
    columns: Vec<String>,
    references: String,
    ref_columns: Vec<String>,
    on_delete: String,
}

#[derive(Debug, Clone, Default)]
struct Schema {
    /// table -> column -> column
    tables: BTreeMap<String, BTreeMap<String, Column>>,
    /// table -> primary key columns in order
    primary_keys: BTreeMap<String, Vec<String>>,
    /// (table, columns) of UNIQUE constraints (engine-named indexes).
    unique_constraints: BTreeSet<(String, Vec<String>)>,
    /// Indexes created by name (CREATE [UNIQUE] INDEX), by name.
    indexes: BTreeMap<String, Index>,
    foreign_keys: BTreeSet<ForeignKey>,
}

fn sqlite_classes(declared: &str) -> BTreeSet<&'static str> {
    let c: &[&'static str] = match declared.to_ascii_uppercase().as_str() {
        "TEXT" => &["text", "timestamp"],
        "BLOB" => &["uuid", "bytes"],
        "BIGINT" | "INTEGER" | "INT" => &["integer"],
        "BOOLEAN" => &["bool"],
        "JSON" => &["json"],
        _ => &[],
    };
    c.iter().copied().collect()
}

fn pg_classes(data_type: &str) -> BTreeSet<&'static str> {
    let c: &[&'static str] = match data_type {
        "text" | "character varying" | "character" => &["text"],
        "timestamp with time zone" => &["timestamp"],
        "uuid" => &["uuid"],
        "bytea" => &["bytes"],
        "bigint" | "integer" | "smallint" => &["integer"],
        "boolean" => &["bool"],
        "json" | "jsonb" => &["json"],
        _ => &[],
    };
    c.iter().copied().collect()
}

/// `''::text` -> `''`, `FALSE` -> `false`, `((a IS NULL) AND (b IS NULL))` -> `a is null and b is null`.
fn normalise_sql(s: &str) -> String {
    let lower = s.to_ascii_lowercase();
    let mut out = String::new();
    let mut rest = lower.as_str();
    while let Some(i) = rest.find("::") {
        out.push_str(&rest[..i]);
        rest = rest[i + 2..].trim_start_matches(|c: char| c.is_ascii_alphanumeric() || c == '_');
    }
    out.push_str(rest);
    out.replace(['(', ')'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

async fn read_sqlite(db: &TestDb) -> Schema {
    let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
    let mut s = Schema::default();
    let tables: Vec<(String,)> = sqlx::query_as(
        "SELECT name FROM sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations' ORDER BY name",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    for (t,) in tables {
        let cols = sqlx::query(
            "SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info($1) ORDER BY cid",
        )
        .bind(&t)
        .fetch_all(&pool)
        .await
        .unwrap();
        let mut pk: Vec<(i64, String)> = Vec::new();
        let entry = s.tables.entry(t.clone()).or_default();
        for c in cols {
            let name: String = c.get("name");
            let declared: String = c.get("type");
            let p: i64 = c.get("pk");
            if p > 0 {
                pk.push((p, name.clone()));
            }
            entry.insert(
                name,
                Column {
                    nullable: c.get::<i64, _>("notnull") == 0,
                    classes: sqlite_classes(&declared),
                    declared,
                    default: c
                        .get::<Option<String>, _>("dflt_value")
                        .map(|d| normalise_sql(&d)),
                },
            );
        }
        pk.sort();
        if !pk.is_empty() {
            s.primary_keys
                .insert(t.clone(), pk.into_iter().map(|(_, n)| n).collect());
        }

        let idx = sqlx::query(
            "SELECT il.name AS name, il.\"unique\" AS uniq, il.origin AS origin, m.sql AS sql \
             FROM pragma_index_list($1) il LEFT JOIN sqlite_master m ON m.name = il.name",
        )
        .bind(&t)
        .fetch_all(&pool)
        .await
        .unwrap();
        for i in idx {
            let name: String = i.get("name");
            let origin: String = i.get("origin");
            let cols: Vec<(Option<String>,)> =
                sqlx::query_as("SELECT name FROM pragma_index_info($1) ORDER BY seqno")
                    .bind(&name)
                    .fetch_all(&pool)
                    .await
                    .unwrap();
            let cols: Vec<String> = cols
                .into_iter()
                .map(|(c,)| c.unwrap_or_else(|| "<expr>".into()))
                .collect();
            match origin.as_str() {
                // The primary key's automatic index: compared through `primary_keys`.
                "pk" => {}
                "u" => {
                    s.unique_constraints.insert((t.clone(), cols));
                }
                _ => {
                    let sql: Option<String> = i.get("sql");
                    let predicate = sql
                        .as_deref()
                        .and_then(|q| {
                            q.to_ascii_lowercase()
                                .find(" where ")
                                .map(|p| q[p + 7..].to_string())
                        })
                        .map(|p| normalise_sql(&p))
                        .unwrap_or_default();
                    s.indexes.insert(
                        name,
                        Index {
                            table: t.clone(),
                            columns: cols,
                            unique: i.get::<i64, _>("uniq") == 1,
                            predicate,
                        },
                    );
                }
            }
        }

        let fks = sqlx::query(
            "SELECT id, seq, \"table\" AS ref, \"from\" AS col, \"to\" AS refcol, on_delete \
             FROM pragma_foreign_key_list($1) ORDER BY id, seq",
        )
        .bind(&t)
        .fetch_all(&pool)
        .await
        .unwrap();
        let mut by_id: BTreeMap<i64, ForeignKey> = BTreeMap::new();
        for f in fks {
            let fk = by_id.entry(f.get("id")).or_insert_with(|| ForeignKey {
                table: t.clone(),
                columns: vec![],
                references: f.get("ref"),
                ref_columns: vec![],
                on_delete: f.get::<String, _>("on_delete").to_ascii_lowercase(),
            });
            fk.columns.push(f.get("col"));
            fk.ref_columns.push(f.get("refcol"));
        }
        s.foreign_keys.extend(by_id.into_values());
    }
    pool.close().await;
    s
}

async fn read_postgres(db: &TestDb) -> Schema {
    let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
    let schema = &db.schema;
    let mut s = Schema::default();
    let tables: Vec<(String,)> = sqlx::query_as(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = $1 AND table_type = 'BASE TABLE' AND table_name <> '_sqlx_migrations'",
    )
    .bind(schema)
    .fetch_all(&pool)
    .await
    .unwrap();
    for (t,) in tables {
        s.tables.entry(t).or_default();
    }
    let cols = sqlx::query(
        "SELECT table_name::text AS t, column_name::text AS c, data_type::text AS ty, \
         is_nullable::text AS n, column_default::text AS d \
         FROM information_schema.columns WHERE table_schema = $1",
    )
    .bind(schema)
    .fetch_all(&pool)
    .await
    .unwrap();
    for c in cols {
        let t: String = c.get("t");
        let declared: String = c.get("ty");
        if let Some(cols) = s.tables.get_mut(&t) {
            cols.insert(
                c.get("c"),
                Column {
                    nullable: c.get::<String, _>("n") == "YES",
                    classes: pg_classes(&declared),
                    declared,
                    default: c.get::<Option<String>, _>("d").map(|d| normalise_sql(&d)),
                },
            );
        }
    }
    let idx = sqlx::query(
        "SELECT t.relname::text AS t, i.relname::text AS name, ix.indisunique AS uniq, \
           COALESCE((SELECT c.contype::text FROM pg_constraint c \
                     WHERE c.conindid = ix.indexrelid AND c.conrelid = t.oid LIMIT 1), '') AS con, \
           COALESCE(pg_get_expr(ix.indpred, ix.indrelid), '') AS pred, \
           ARRAY(SELECT COALESCE(a.attname::text, '<expr>') \
                 FROM unnest(ix.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) \
                 LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum \
                 ORDER BY k.ord) AS cols \
         FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid \
         JOIN pg_class t ON t.oid = ix.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace \
         WHERE n.nspname = $1 AND t.relname <> '_sqlx_migrations'",
    )
    .bind(schema)
    .fetch_all(&pool)
    .await
    .unwrap();
    for i in idx {
        let t: String = i.get("t");
        let cols: Vec<String> = i.get("cols");
        match i.get::<String, _>("con").as_str() {
            "p" => {
                s.primary_keys.insert(t, cols);
            }
            "u" => {
                s.unique_constraints.insert((t, cols));
            }
            _ => {
                s.indexes.insert(
                    i.get("name"),
                    Index {
                        table: t,
                        columns: cols,
                        unique: i.get("uniq"),
                        predicate: normalise_sql(&i.get::<String, _>("pred")),
                    },
                );
            }
        }
    }
    let fks = sqlx::query(
        "SELECT t.relname::text AS t, r.relname::text AS r, c.confdeltype::text AS del, \
           ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(n, o) \
                 JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.o) AS cols, \
           ARRAY(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY k(n, o) \
                 JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.o) AS refcols \
         FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid JOIN pg_class r ON r.oid = c.confrelid \
         JOIN pg_namespace n ON n.oid = t.relnamespace WHERE c.contype = 'f' AND n.nspname = $1",
    )
    .bind(schema)
    .fetch_all(&pool)
    .await
    .unwrap();
    for f in fks {
        let on_delete = match f.get::<String, _>("del").as_str() {
            "a" => "no action",
            "r" => "restrict",
            "c" => "cascade",
            "n" => "set null",
            "d" => "set default",
            other => panic!("unknown confdeltype {other}"),
        };
        s.foreign_keys.insert(ForeignKey {
            table: f.get("t"),
            columns: f.get("cols"),
            references: f.get("r"),
            ref_columns: f.get("refcols"),
            on_delete: on_delete.into(),
        });
    }
    pool.close().await;
    s
}

/// Every difference between the two catalogues, one line each (empty: in parity).
fn differences(sqlite: &Schema, pg: &Schema) -> Vec<String> {
    let mut d = Vec::new();
    for t in sqlite
        .tables
        .keys()
        .chain(pg.tables.keys())
        .collect::<BTreeSet<_>>()
    {
        let (Some(a), Some(b)) = (sqlite.tables.get(t), pg.tables.get(t)) else {
            let only = if sqlite.tables.contains_key(t) {
                "SQLite"
            } else {
                "PostgreSQL"
            };
            d.push(format!("table {t}: only on {only}"));
            continue;
        };
        for c in a.keys().chain(b.keys()).collect::<BTreeSet<_>>() {
            let (Some(x), Some(y)) = (a.get(c), b.get(c)) else {
                let only = if a.contains_key(c) {
                    "SQLite"
                } else {
                    "PostgreSQL"
                };
                d.push(format!("column {t}.{c}: only on {only}"));
                continue;
            };
            if x.nullable != y.nullable {
                let n = |n: bool| if n { "NULL" } else { "NOT NULL" };
                d.push(format!(
                    "column {t}.{c}: {} on SQLite, {} on PostgreSQL",
                    n(x.nullable),
                    n(y.nullable)
                ));
            }
            if y.classes.is_empty() || x.classes.is_disjoint(&y.classes) {
                d.push(format!(
                    "column {t}.{c}: type {} {:?} on SQLite, {} {:?} on PostgreSQL",
                    x.declared, x.classes, y.declared, y.classes
                ));
            }
            if x.default != y.default {
                d.push(format!(
                    "column {t}.{c}: default {:?} on SQLite, {:?} on PostgreSQL",
                    x.default, y.default
                ));
            }
        }
    }
    for t in sqlite
        .primary_keys
        .keys()
        .chain(pg.primary_keys.keys())
        .collect::<BTreeSet<_>>()
    {
        let (x, y) = (sqlite.primary_keys.get(t), pg.primary_keys.get(t));
        if x != y {
            d.push(format!(
                "primary key of {t}: {x:?} on SQLite, {y:?} on PostgreSQL"
            ));
        }
    }
    for u in sqlite
        .unique_constraints
        .symmetric_difference(&pg.unique_constraints)
    {
        let only = if sqlite.unique_constraints.contains(u) {
            "SQLite"
        } else {
            "PostgreSQL"
        };
        d.push(format!(
            "unique constraint {}({}): only on {only}",
            u.0,
            u.1.join(", ")
        ));
    }
    for n in sqlite
        .indexes
        .keys()
        .chain(pg.indexes.keys())
        .collect::<BTreeSet<_>>()
    {
        match (sqlite.indexes.get(n), pg.indexes.get(n)) {
            (Some(x), Some(y)) if x == y => {}
            (x, y) => d.push(format!("index {n}: {x:?} on SQLite, {y:?} on PostgreSQL")),
        }
    }
    for f in sqlite.foreign_keys.symmetric_difference(&pg.foreign_keys) {
        let only = if sqlite.foreign_keys.contains(f) {
            "SQLite"
        } else {
            "PostgreSQL"
        };
        d.push(format!(
            "foreign key {}({}) -> {}({}) on delete {}: only on {only}",
            f.table,
            f.columns.join(", "),
            f.references,
            f.ref_columns.join(", "),
            f.on_delete
        ));
    }
    d
}

async fn migrated(b: Backend) -> (TestDb, Store) {
    let db = TestDb::new(b).unwrap();
    let store = store::connect_and_migrate(&db.config()).await.unwrap();
    (db, store)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_agree_across_dialects() {
    if common::postgres_url().is_none() {
        eprintln!("MONBAN_TEST_POSTGRES not set: schema parity not checked (needs both dialects)");
        return;
    }
    let (lite_db, lite) = migrated(Backend::Sqlite).await;
    let (pg_db, pg) = migrated(Backend::Postgres).await;
    let a = read_sqlite(&lite_db).await;
    let b = read_postgres(&pg_db).await;
    lite.close().await;
    pg.close().await;
    assert!(
        a.tables.len() >= 20,
        "SQLite catalogue read: {:?}",
        a.tables.keys()
    );
    assert!(
        b.tables.len() >= 20,
        "PostgreSQL catalogue read: {:?}",
        b.tables.keys()
    );
    let d = differences(&a, &b);
    assert!(
        d.is_empty(),
        "the SQLite and PostgreSQL migrations disagree ({} differences):\n  {}",
        d.len(),
        d.join("\n  ")
    );
}

/// The comparison itself: every kind of drift is reported, each on its own line (run
/// on SQLite alone, against a doctored copy of its own catalogue).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parity_check_reports_every_difference() {
    let (db, s) = migrated(Backend::Sqlite).await;
    let real = read_sqlite(&db).await;
    s.close().await;
    assert!(real.tables.contains_key("users") && real.indexes.contains_key("outbox_due"));
    assert_eq!(
        real.indexes["outbox_due"].predicate,
        "sent_at is null and failed_at is null"
    );
    assert_eq!(real.primary_keys["consents"], ["user_id", "client_id"]);
    assert!(real
        .unique_constraints
        .contains(&("sessions".to_string(), vec!["token_hash".to_string()])));
    assert!(differences(&real, &real).is_empty());

    let mut other = real.clone();
    other.tables.remove("org_policies");
    let users = other.tables.get_mut("users").unwrap();
    users.remove("roles");
    users.get_mut("login_id").unwrap().nullable = false;
    users.get_mut("created_at").unwrap().classes = pg_classes("timestamp without time zone");
    users.get_mut("failed_logins").unwrap().default = None;
    other
        .primary_keys
        .insert("consents".into(), vec!["user_id".into()]);
    other
        .unique_constraints
        .remove(&("sessions".to_string(), vec!["token_hash".to_string()]));
    other.indexes.get_mut("users_org_email").unwrap().unique = false;
    other
        .indexes
        .get_mut("outbox_due")
        .unwrap()
        .predicate
        .clear();
    other
        .indexes
        .get_mut("sessions_user")
        .unwrap()
        .columns
        .reverse();
    let fk = other
        .foreign_keys
        .iter()
        .find(|f| f.table == "outbox" && f.columns == ["user_id"])
        .unwrap()
        .clone();
    other.foreign_keys.remove(&fk);
    other.foreign_keys.insert(ForeignKey {
        on_delete: "no action".into(),
        ..fk
    });

    let d = differences(&real, &other);
    let expect = [
        "table org_policies: only on SQLite",
        "column users.roles: only on SQLite",
        "column users.login_id: NULL on SQLite, NOT NULL on PostgreSQL",
        "column users.created_at: type TEXT",
        "column users.failed_logins: default Some(\"0\") on SQLite, None",
        "primary key of consents",
        "unique constraint sessions(token_hash): only on SQLite",
        "index users_org_email",
        "index outbox_due",
        "index sessions_user",
        "foreign key outbox(user_id) -> users(id) on delete set null: only on SQLite",
        "foreign key outbox(user_id) -> users(id) on delete no action: only on PostgreSQL",
    ];
    for e in expect {
        assert!(
            d.iter().any(|l| l.starts_with(e)),
            "`{e}` not reported; got:\n  {}",
            d.join("\n  ")
        );
    }
    assert_eq!(d.len(), expect.len(), "one line per difference: {d:#?}");
}
