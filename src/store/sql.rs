//! Helpers for the SQL that both dialects share.
//!
//! Each store module writes its SQL once, inside a `macro_rules!` body expanded per
//! pool type (see `sqlite.rs` and `postgres.rs`). Parameters are `$n`, which SQLite and
//! PostgreSQL both take. Statements with many parameters name them instead, so that a
//! value can never drift away from the column it is meant for:
//!
//! - [`insert_into!`] writes `INSERT INTO table (a, b, …) VALUES ($1, $2, …)` from a
//!   list of `column: value` pairs (or from a struct whose fields are named like the
//!   columns) and binds the values in the same order;
//! - [`named_query!`] takes SQL with `:name` parameters and a list of `name: value`
//!   pairs, rewrites the names to `$n` and binds the values in that order.
//!
//! The SQL text of each call site is built once (a `static` per call site and dialect)
//! and checked then: a `:name` without a value, or a value never used, panics with the
//! statement (a programming error that the first run of the statement shows).

/// `sqlx::query_as::<$db, $row>` of `$sql` (a `format!` string, so that column-list
/// constants such as `{CLIENT_COLS}` are written into it), with the values bound in
/// the order given: one line per read, instead of one line per bind. The SQL is built
/// once per call site and dialect, like [`named_query!`]'s, so only constants may be
/// interpolated; debug builds (the tests) check that on every call.
macro_rules! select {
    ($db:ty, $row:ty, $sql:literal $(, $arg:expr)* $(,)?) => {{
        static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let sql: &'static str = SQL.get_or_init(|| format!($sql)).as_str();
        debug_assert_eq!(sql, format!($sql), "select! interpolates a value that varies");
        sqlx::query_as::<$db, $row>(sql)$(.bind($arg))*
    }};
}
pub(crate) use select;

/// Rewrites the `:name` parameters of `sql` to `$n`, `n` being the 1-based position of
/// `name` in `names`. Text inside single quotes and `::` (a PostgreSQL cast) are left
/// alone. Panics when `sql` names a parameter missing from `names`, or when a name in
/// `names` is never used.
pub(crate) fn named(sql: &str, names: &[&str]) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut used = vec![false; names.len()];
    let mut chars = sql.char_indices().peekable();
    let mut quoted = false;
    while let Some((i, c)) = chars.next() {
        if c == '\'' {
            quoted = !quoted;
        }
        let starts_name = !quoted
            && c == ':'
            && !sql[..i].ends_with(':')
            && chars
                .peek()
                .is_some_and(|&(_, n)| n.is_ascii_lowercase() || n == '_');
        if !starts_name {
            out.push(c);
            continue;
        }
        let start = i + 1;
        let mut end = start;
        while let Some(&(j, n)) = chars.peek() {
            if n.is_ascii_alphanumeric() || n == '_' {
                end = j + n.len_utf8();
                chars.next();
            } else {
                break;
            }
        }
        let name = &sql[start..end];
        let Some(k) = names.iter().position(|n| *n == name) else {
            panic!("SQL parameter :{name} has no value in: {sql}");
        };
        used[k] = true;
        out.push('$');
        out.push_str(&(k + 1).to_string());
    }
    if let Some(k) = used.iter().position(|u| !u) {
        panic!("SQL parameter :{} is never used in: {sql}", names[k]);
    }
    out
}

/// How [`insert_sql`] takes the row's values.
pub(crate) enum InsertFrom<'a> {
    /// `VALUES (…)` followed by this text (e.g. an `ON CONFLICT` clause, or nothing).
    Values(&'a str),
    /// `SELECT … WHERE` this condition: the row is inserted only when it holds.
    SelectWhere(&'a str),
}

/// `INSERT INTO table (cols…) VALUES (:cols…) …`, with the names rewritten to `$n` by
/// [`named`]: the columns come first, then `extra` (parameters of the tail only).
pub(crate) fn insert_sql(
    table: &str,
    cols: &[&str],
    from: InsertFrom<'_>,
    extra: &[&str],
) -> String {
    let list = cols.join(", ");
    let values = cols
        .iter()
        .map(|c| format!(":{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = match from {
        InsertFrom::Values("") => {
            format!("INSERT INTO {table} ({list}) VALUES ({values})")
        }
        InsertFrom::Values(tail) => {
            format!("INSERT INTO {table} ({list}) VALUES ({values}) {tail}")
        }
        InsertFrom::SelectWhere(cond) => {
            format!("INSERT INTO {table} ({list}) SELECT {values} WHERE {cond}")
        }
    };
    let names: Vec<&str> = cols.iter().chain(extra).copied().collect();
    named(&sql, &names)
}

/// An INSERT whose columns stand next to their values; evaluates to the
/// `sqlx::query::Query` (not executed yet).
///
/// ```ignore
/// // Each column with its value (or a variable of the column's name):
/// insert_into!(sqlx::Sqlite, "organizations", { id: Uuid::new_v4(), slug, name, created_at: now })
/// // The fields of a struct, named like the columns (each bound as `&c.field`):
/// insert_into!(sqlx::Sqlite, "clients", c => { id, org_id, client_id, name })
/// // A tail after VALUES:
/// insert_into!(sqlx::Sqlite, "consents", { … }, on_conflict: "ON CONFLICT (user_id, client_id) DO NOTHING")
/// // Insert only when a condition holds; the condition may use the columns' and its own named parameters:
/// insert_into!(sqlx::Sqlite, "support_grants", g => { … }, select_where: "(SELECT COUNT(*) …) < :limit", { limit: limit })
/// ```
macro_rules! insert_into {
    (@build $db:ty, $table:literal, [$($col:ident $(: $val:expr)?),+], $from:ident($arg:literal),
        [$($xname:ident $(: $xval:expr)?),*]) => {{
        static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let sql: &'static str = SQL.get_or_init(|| {
            $crate::store::sql::insert_sql(
                $table,
                &[$(stringify!($col)),+],
                $crate::store::sql::InsertFrom::$from($arg),
                &[$(stringify!($xname)),*],
            )
        });
        sqlx::query::<$db>(sql)
            $(.bind($crate::store::sql::param_value!($col $(, $val)?)))+
            $(.bind($crate::store::sql::param_value!($xname $(, $xval)?)))*
    }};
    ($db:ty, $table:literal, $s:ident => { $($field:ident),+ $(,)? } $($rest:tt)*) => {
        $crate::store::sql::insert_into!($db, $table, { $($field: &$s.$field),+ } $($rest)*)
    };
    ($db:ty, $table:literal, { $($col:ident $(: $val:expr)?),+ $(,)? }) => {
        $crate::store::sql::insert_into!(@build $db, $table, [$($col $(: $val)?),+], Values(""), [])
    };
    ($db:ty, $table:literal, { $($col:ident $(: $val:expr)?),+ $(,)? }, on_conflict: $tail:literal) => {
        $crate::store::sql::insert_into!(@build $db, $table, [$($col $(: $val)?),+], Values($tail), [])
    };
    ($db:ty, $table:literal, { $($col:ident $(: $val:expr)?),+ $(,)? }, select_where: $cond:literal,
        { $($xname:ident $(: $xval:expr)?),* $(,)? }) => {
        $crate::store::sql::insert_into!(@build $db, $table, [$($col $(: $val)?),+], SelectWhere($cond),
            [$($xname $(: $xval)?),*])
    };
}

/// A statement with `:name` parameters and its values by name; evaluates to the
/// `sqlx::query::Query` (or, with `as T`, the `QueryAs`), not executed yet. `sql` is
/// any expression giving a `&str` or `String` (evaluated once); a value may be left
/// out when a variable of the parameter's name holds it.
///
/// ```ignore
/// named_query!(sqlx::Sqlite, "UPDATE users SET locale = :locale WHERE id = :id", { id, locale: &c.locale })
/// named_query!(sqlx::Sqlite as User, format!("SELECT {USER_COLS} FROM users WHERE id = :id"), { id })
/// ```
macro_rules! named_query {
    (@sql $sql:expr, [$($name:ident),*]) => {{
        static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let sql: &'static str = SQL
            .get_or_init(|| $crate::store::sql::named(&$sql, &[$(stringify!($name)),*]))
            .as_str();
        sql
    }};
    ($db:ty, $sql:expr, { $($name:ident $(: $val:expr)?),* $(,)? }) => {
        sqlx::query::<$db>($crate::store::sql::named_query!(@sql $sql, [$($name),*]))
            $(.bind($crate::store::sql::param_value!($name $(, $val)?)))*
    };
    ($db:ty as $row:ty, $sql:expr, { $($name:ident $(: $val:expr)?),* $(,)? }) => {
        sqlx::query_as::<$db, $row>($crate::store::sql::named_query!(@sql $sql, [$($name),*]))
            $(.bind($crate::store::sql::param_value!($name $(, $val)?)))*
    };
}

/// The value of a named parameter: the expression given, or the variable of its name.
macro_rules! param_value {
    ($name:ident) => {
        $name
    };
    ($name:ident, $val:expr) => {
        $val
    };
}

pub(crate) use {insert_into, named_query, param_value};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_positions() {
        assert_eq!(
            named(
                "UPDATE t SET a = :a, ab = :ab WHERE id = :id AND a <> :a",
                &["id", "a", "ab"]
            ),
            "UPDATE t SET a = $2, ab = $3 WHERE id = $1 AND a <> $2"
        );
    }

    #[test]
    fn quotes_and_casts_are_left_alone() {
        assert_eq!(
            named("SELECT ':x', y::text FROM t WHERE z = :z", &["z"]),
            "SELECT ':x', y::text FROM t WHERE z = $1"
        );
    }

    #[test]
    #[should_panic(expected = "has no value")]
    fn unknown_name_panics() {
        named("SELECT 1 WHERE a = :a", &[]);
    }

    #[test]
    #[should_panic(expected = "never used")]
    fn unused_name_panics() {
        named("SELECT 1", &["a"]);
    }

    #[test]
    fn insert_lists_columns_and_placeholders_in_one_order() {
        assert_eq!(
            insert_sql("t", &["id", "name"], InsertFrom::Values(""), &[]),
            "INSERT INTO t (id, name) VALUES ($1, $2)"
        );
        assert_eq!(
            insert_sql(
                "t",
                &["id", "name"],
                InsertFrom::Values("ON CONFLICT (id) DO NOTHING"),
                &[]
            ),
            "INSERT INTO t (id, name) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING"
        );
        assert_eq!(
            insert_sql(
                "t",
                &["id", "user_id"],
                InsertFrom::SelectWhere("(SELECT COUNT(*) FROM t WHERE user_id = :user_id) < :limit"),
                &["limit"]
            ),
            "INSERT INTO t (id, user_id) SELECT $1, $2 WHERE (SELECT COUNT(*) FROM t WHERE user_id = $2) < $3"
        );
    }
}
