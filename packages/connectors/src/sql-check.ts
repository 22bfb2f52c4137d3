import { userError } from "@caretflow/contracts";

/** Which SQL a query is written in: PostgreSQL's, or MySQL's and MariaDB's. */
export type SqlDialect = "postgres" | "mysql";

/**
 * Check that `sql` is one read-only statement before it reaches a server: comments, string literals,
 * quoted identifiers and dollar-quoted bodies are skipped, then no `;` may separate statements and the
 * statement must start with SELECT, WITH, TABLE or VALUES. The server's READ ONLY transaction is the
 * second lock. Returns the statement without a trailing semicolon.
 *
 * In the "mysql" dialect the lexer follows MySQL and MariaDB: `#` starts a comment, `--` only when a
 * space follows, block comments do not nest, backslashes escape inside strings, names are quoted with
 * backticks, and there is no dollar quoting. Executable comments (`/*! ... *\/`) are refused, as are
 * what a READ ONLY transaction there lets through: `INTO` (OUTFILE, DUMPFILE, variables) and locking
 * reads (FOR UPDATE, FOR SHARE, LOCK IN SHARE MODE). In both dialects, functions that reach the
 * server's files, processes, settings or other databases (SERVER_FUNCTIONS) are refused.
 */
export function checkReadOnlyQuery(sql: string, dialect: SqlDialect = "postgres"): string {
  const mysql = dialect === "mysql";
  const words: string[] = [];
  let i = 0;
  let end = sql.length;
  let semicolonAt = -1;
  while (i < sql.length) {
    const ch = sql[i]!;
    const next = sql[i + 1];
    if ((ch === "-" && next === "-" && (!mysql || i + 2 >= sql.length || /\s/.test(sql[i + 2]!))) || (mysql && ch === "#")) {
      const nl = sql.indexOf("\n", i);
      i = nl < 0 ? sql.length : nl + 1;
    } else if (ch === "/" && next === "*" && mysql) {
      if (sql[i + 2] === "!" || (sql[i + 2] === "M" && sql[i + 3] === "!")) {
        throw userError(
          "query_not_read_only",
          "The query holds an executable comment (/*! ... */), which MySQL runs as code",
          "Remove the executable comment; write the statement plainly.",
          400,
        );
      }
      const close = sql.indexOf("*/", i + 2);
      if (close < 0) throw unterminated("comment");
      i = close + 2;
    } else if (ch === "/" && next === "*") {
      let depth = 1;
      i += 2;
      while (i < sql.length && depth > 0) {
        if (sql[i] === "/" && sql[i + 1] === "*") {
          depth++;
          i += 2;
        } else if (sql[i] === "*" && sql[i + 1] === "/") {
          depth--;
          i += 2;
        } else i++;
      }
      if (depth > 0) throw unterminated("comment");
    } else if (ch === "'" || ch === '"' || (mysql && ch === "`")) {
      if (semicolonAt >= 0) throw oneStatement();
      i++;
      for (;;) {
        if (i >= sql.length) throw unterminated(ch === "'" ? "string" : "quoted name");
        if (mysql && ch !== "`" && sql[i] === "\\") i += 2;
        else if (sql[i] === ch) {
          if (sql[i + 1] === ch) i += 2;
          else break;
        } else i++;
      }
      i++;
    } else if (!mysql && ch === "$" && /^\$[A-Za-z_]*\$/.test(sql.slice(i))) {
      if (semicolonAt >= 0) throw oneStatement();
      const tag = /^\$[A-Za-z_]*\$/.exec(sql.slice(i))![0];
      const close = sql.indexOf(tag, i + tag.length);
      if (close < 0) throw unterminated("dollar-quoted string");
      i = close + tag.length;
    } else if (ch === ";") {
      if (semicolonAt < 0) semicolonAt = i;
      i++;
    } else if (/[A-Za-z_]/.test(ch)) {
      const word = /^[A-Za-z_][A-Za-z0-9_$]*/.exec(sql.slice(i))![0];
      if (semicolonAt >= 0) throw oneStatement();
      words.push(word.toUpperCase());
      i += word.length;
    } else {
      if (semicolonAt >= 0 && !/\s/.test(ch)) throw oneStatement();
      i++;
    }
  }
  if (semicolonAt >= 0) end = semicolonAt;
  const first = words[0];
  if (!first) throw userError("query_empty", "The query is empty", "Write one SELECT statement.", 400);
  if (!["SELECT", "WITH", "TABLE", "VALUES"].includes(first)) {
    throw userError(
      "query_not_read_only",
      `Only queries that read are allowed; this one starts with ${first}`,
      "Write one SELECT (or WITH ... SELECT) statement; caretflow never changes data in a source.",
      400,
    );
  }
  if (mysql) refuseMysqlWrites(words);
  refuseServerFunctions(words, dialect);
  return sql.slice(0, end);
}

/**
 * Functions that reach the database server's files, other databases or its processes and settings:
 * a READ ONLY transaction lets them run (they change no table), the account's privileges may too.
 * Refused by name wherever the word appears outside strings and quoted names, so a column of that
 * name has to be quoted.
 */
const SERVER_FUNCTIONS: Record<SqlDialect, ReadonlySet<string>> = {
  postgres: new Set([
    "PG_READ_FILE",
    "PG_READ_BINARY_FILE",
    "PG_LS_DIR",
    "PG_STAT_FILE",
    "LO_IMPORT",
    "LO_EXPORT",
    "DBLINK",
    "DBLINK_EXEC",
    "DBLINK_CONNECT",
    "SET_CONFIG",
    "PG_TERMINATE_BACKEND",
    "PG_CANCEL_BACKEND",
    "PG_RELOAD_CONF",
    "PG_ROTATE_LOGFILE",
  ]),
  mysql: new Set(["LOAD_FILE", "SYS_EXEC", "SYS_EVAL"]),
};

function refuseServerFunctions(words: readonly string[], dialect: SqlDialect): void {
  const found = words.find((w) => SERVER_FUNCTIONS[dialect].has(w));
  if (found) {
    throw userError(
      "query_function_refused",
      `The query uses ${found.toLowerCase()}, which reads or acts on the database server itself (its files, processes, settings or other databases), not on table data`,
      `Read tables and compute from their columns. A column named ${found.toLowerCase()} must be written quoted (${dialect === "mysql" ? "`name`" : '"name"'}).`,
      400,
    );
  }
}

/** MySQL reads that write or lock even in a READ ONLY transaction: INTO (files, variables) and locking reads. */
function refuseMysqlWrites(words: readonly string[]): void {
  const at = (k: number, ...seq: string[]) => seq.every((w, j) => words[k + j] === w);
  for (let k = 0; k < words.length; k++) {
    let what: string | null = null;
    if (words[k] === "INTO") what = "SELECT ... INTO writes a file or variables";
    else if (at(k, "FOR", "UPDATE") || at(k, "FOR", "SHARE") || at(k, "LOCK", "IN", "SHARE", "MODE"))
      what = "a locking read holds locks on the rows it reads";
    if (what) {
      throw userError(
        "query_not_read_only",
        `Only queries that read are allowed: ${what}`,
        "Remove INTO and locking clauses (FOR UPDATE, FOR SHARE, LOCK IN SHARE MODE); caretflow only reads.",
        400,
      );
    }
  }
}

function oneStatement() {
  return userError(
    "query_several_statements",
    "The query holds more than one statement",
    "Send one SELECT statement, without a ';' followed by another statement.",
    400,
  );
}

function unterminated(what: string) {
  return userError("query_unterminated", `The query has an unterminated ${what}`, "Close it, then send the query again.", 400);
}

/** The query of a source that is not a table; an object store's key is refused (databases read tables and queries). */
export function queryOf(source: { query: string } | { object: string }): string {
  if ("query" in source) return source.query;
  throw userError(
    "table_or_query_required",
    "A database connection reads a table or a query, not an object key",
    "Give a table or a query (--table or --query); --object is for S3, Azure Blob and GCS connections.",
    400,
  );
}
