import { describe, expect, it } from "vitest";
import { addressRefusal, checkedAddress, PUBLIC_ONLY } from "./address-guard.ts";
import { checkReadOnlyQuery } from "./sql-check.ts";

describe("address guard", () => {
  it("refuses loopback, private, link-local and the metadata address by default", () => {
    expect(addressRefusal("127.0.0.1", PUBLIC_ONLY)).toBe("a loopback address");
    expect(addressRefusal("::1", PUBLIC_ONLY)).toBe("a loopback address");
    expect(addressRefusal("10.1.2.3", PUBLIC_ONLY)).toBe("a private network address");
    expect(addressRefusal("172.20.0.1", PUBLIC_ONLY)).toBe("a private network address");
    expect(addressRefusal("192.168.1.1", PUBLIC_ONLY)).toBe("a private network address");
    expect(addressRefusal("fd00::1", PUBLIC_ONLY)).toBe("a private network address");
    expect(addressRefusal("169.254.169.254", PUBLIC_ONLY)).toBe("the cloud metadata address");
    expect(addressRefusal("::ffff:169.254.169.254", PUBLIC_ONLY)).toBe("the cloud metadata address");
    expect(addressRefusal("::ffff:10.0.0.1", PUBLIC_ONLY)).toBe("a private network address");
    expect(addressRefusal("fe80::1", PUBLIC_ONLY)).toBe("a link-local address");
    expect(addressRefusal("93.184.216.34", PUBLIC_ONLY)).toBeNull();
  });

  it("allowing private networks keeps link-local and metadata refused unless an allow-list names them", () => {
    const priv = { allowPrivateNetworks: true };
    expect(addressRefusal("10.1.2.3", priv)).toBeNull();
    expect(addressRefusal("127.0.0.1", priv)).toBeNull();
    expect(addressRefusal("169.254.169.254", priv)).toBe("the cloud metadata address");
    expect(addressRefusal("10.1.2.3", { allowPrivateNetworks: false, allowList: ["10.1.0.0/16"] })).toBeNull();
    expect(addressRefusal("10.2.2.3", { allowPrivateNetworks: false, allowList: ["10.1.0.0/16"] })).not.toBeNull();
  });

  it("checks every address a name resolves to, and returns the one to connect to", async () => {
    await expect(checkedAddress("localhost", PUBLIC_ONLY)).rejects.toMatchObject({ code: "address_refused" });
    expect(["127.0.0.1", "::1"]).toContain(await checkedAddress("localhost", { allowPrivateNetworks: true }));
    await expect(checkedAddress("169.254.169.254", { allowPrivateNetworks: true })).rejects.toThrow(/metadata/);
    await expect(checkedAddress("/var/run/postgresql", PUBLIC_ONLY)).rejects.toThrow(/local socket/);
  });
});

describe("read-only query check", () => {
  it("keeps one statement (a trailing ';' and comments are fine)", () => {
    expect(checkReadOnlyQuery("SELECT 1;")).toBe("SELECT 1");
    expect(checkReadOnlyQuery("select ';' as a -- ; drop table x\n")).toContain("';'");
    expect(checkReadOnlyQuery("WITH x AS (SELECT $$;$$ AS s) SELECT * FROM x /* ; */;  -- end")).toContain("WITH");
    expect(checkReadOnlyQuery('SELECT "a;b" FROM t')).toBe('SELECT "a;b" FROM t');
  });

  it("refuses several statements, writes and unterminated text with their own codes", () => {
    expect(() => checkReadOnlyQuery("SELECT 1; SELECT 2")).toThrow(expect.objectContaining({ code: "query_several_statements" }));
    expect(() => checkReadOnlyQuery("SELECT 1; 'x'")).toThrow(expect.objectContaining({ code: "query_several_statements" }));
    expect(() => checkReadOnlyQuery("DROP TABLE t")).toThrow(expect.objectContaining({ code: "query_not_read_only" }));
    expect(() => checkReadOnlyQuery("  -- nothing\n ;")).toThrow(expect.objectContaining({ code: "query_empty" }));
    expect(() => checkReadOnlyQuery("SELECT 'abc")).toThrow(expect.objectContaining({ code: "query_unterminated" }));
  });
});

describe("read-only query check, MySQL dialect", () => {
  const my = (sql: string) => checkReadOnlyQuery(sql, "mysql");
  const code = (c: string) => expect.objectContaining({ code: c });

  it("skips # comments, backtick names and backslash escapes", () => {
    expect(my("SELECT `a;b` FROM t # ; DROP TABLE t\n;")).toBe("SELECT `a;b` FROM t # ; DROP TABLE t\n");
    expect(my("SELECT 'it\\'s; fine' AS s")).toBe("SELECT 'it\\'s; fine' AS s");
    expect(my('SELECT "x\\";y" AS s -- done')).toContain("SELECT");
    expect(my("SELECT `we``ird;` FROM t")).toBe("SELECT `we``ird;` FROM t");
    // No dollar quoting in MySQL: `$x$` is a name, so what follows it is still checked.
    expect(() => my("SELECT $x$; DELETE FROM t; $x$")).toThrow(code("query_several_statements"));
  });

  it("follows MySQL where it differs from PostgreSQL, so nothing hides from the check", () => {
    // A backslash escapes the quote: PostgreSQL's reading would see one long string.
    expect(() => my("SELECT 'a\\'' ; DELETE FROM t; SELECT '")).toThrow(code("query_several_statements"));
    // `--` followed by no space is two minus signs in MySQL, not a comment.
    expect(() => my("SELECT * FROM t WHERE 1=1 --1 FOR UPDATE")).toThrow(code("query_not_read_only"));
    // Block comments do not nest in MySQL.
    expect(() => my("SELECT * FROM t /* /* */ FOR UPDATE -- */")).toThrow(code("query_not_read_only"));
    expect(() => my("SELECT * FROM t /* /* */ ; DELETE FROM t")).toThrow(code("query_several_statements"));
  });

  it("refuses INTO, locking reads and executable comments", () => {
    expect(() => my("SELECT * FROM t INTO OUTFILE '/tmp/x'")).toThrow(code("query_not_read_only"));
    expect(() => my("SELECT * INTO DUMPFILE '/tmp/x' FROM t")).toThrow(code("query_not_read_only"));
    expect(() => my("SELECT id INTO @v FROM t LIMIT 1")).toThrow(code("query_not_read_only"));
    expect(() => my("SELECT * FROM t FOR UPDATE")).toThrow(code("query_not_read_only"));
    expect(() => my("select * from t for /* x */ share")).toThrow(code("query_not_read_only"));
    expect(() => my("SELECT * FROM t LOCK IN SHARE MODE")).toThrow(code("query_not_read_only"));
    expect(() => my("SELECT * FROM t /*!50000 FOR UPDATE */")).toThrow(code("query_not_read_only"));
    expect(() => my("SELECT 1 /*M! , 2 */")).toThrow(code("query_not_read_only"));
    expect(() => my("DELETE FROM t")).toThrow(code("query_not_read_only"));
    expect(() => my("SELECT 'abc")).toThrow(code("query_unterminated"));
    expect(() => my("SELECT `abc")).toThrow(code("query_unterminated"));
    expect(() => my("SELECT 1 /* open")).toThrow(code("query_unterminated"));
    // Words inside strings, names and comments are not clauses.
    expect(my("SELECT 'FOR UPDATE', `into` FROM t # INTO OUTFILE")).toContain("SELECT");
    expect(my("SELECT SUBSTRING(name FROM 1 FOR 2) FROM t")).toContain("FOR 2");
  });

  it("refuses functions that reach the server's files, processes, settings or other databases, in either dialect", () => {
    expect(() => my("SELECT LOAD_FILE('/etc/passwd')")).toThrow(code("query_function_refused"));
    expect(() => my("SELECT id, load_file ('/var/lib/mysql/x') AS f FROM t")).toThrow(code("query_function_refused"));
    expect(() => checkReadOnlyQuery("SELECT pg_read_file('/etc/passwd')")).toThrow(code("query_function_refused"));
    expect(() => checkReadOnlyQuery("SELECT lo_export(1, '/tmp/x')")).toThrow(code("query_function_refused"));
    expect(() => checkReadOnlyQuery("SELECT * FROM dblink('host=x', 'select 1') AS t(a int)")).toThrow(code("query_function_refused"));
    expect(() => checkReadOnlyQuery("SELECT set_config('transaction_read_only', 'off', true)")).toThrow(code("query_function_refused"));
    expect(() => checkReadOnlyQuery("SELECT pg_terminate_backend(42)")).toThrow(code("query_function_refused"));
    // In strings and quoted names the words are data.
    expect(my("SELECT 'load_file', `load_file` FROM t")).toContain("SELECT");
    expect(checkReadOnlyQuery("SELECT 'pg_read_file', \"lo_export\" FROM t")).toContain("SELECT");
  });

  it("the PostgreSQL dialect is unchanged", () => {
    expect(checkReadOnlyQuery("SELECT $$it's; fine$$ --1 x")).toContain("$$");
    expect(checkReadOnlyQuery("SELECT 1 /* a /* nested */ still comment; */")).toContain("SELECT 1");
  });
});
